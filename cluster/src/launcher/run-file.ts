/**
 * The file a running launcher keeps in its data directory, apart from the launcher itself so the
 * CLI and the benchmark read it without loading the launcher's code.
 */
import type { LocalCredentials } from './credentials.ts';

/** What `<data>/run.json` says about a running local Conveyor (the CLI reads it). */
export interface RunInfo {
  pid: number;
  endpoint: string;
  frontends: string[];
  metadataUrl: string;
  zookeeper: string;
  /** The launcher's control endpoint (cluster and node actions of the CLI). */
  control: string;
  /** The backend nodes running now. */
  nodes: Array<{ id: string; cluster: string; url: string; pid: number }>;
  /** The key the CLI signs native calls with (absent with auth off). */
  credentials?: LocalCredentials;
}

export const RUN_FILE = 'run.json';
