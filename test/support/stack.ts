/**
 * A whole local Conveyor for end-to-end tests: a private ZooKeeper, one or more backend clusters,
 * a metadata service and a frontend process serving the SQS JSON protocol. Everything is a real
 * process on free ports; close() stops it all.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { nodeEnv, startCluster, type TestCluster } from './cluster.ts';
import { OTHER_TEST_CREDENTIALS, TEST_CREDENTIALS } from './credentials.ts';
import { startMetadataService, type MetadataServiceProcess } from './metadata.ts';
import { entryArgs, serverNodeArgs } from '@conveyor/cluster';
import { findFreePorts, makeTempDir, pollUntil, readLogTail, removeTempDir, spawnTracked, terminateProcess, startZooKeeper, type TrackedProcess, type ZooKeeperServer } from './zookeeper.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FrontendProcess {
  readonly url: string;
  readonly logFile: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface FrontendStartOptions {
  /** false: start with `--no-auth`; by default the frontend checks signatures with the test keys. */
  auth?: boolean;
  /** Serve HTTPS with these PEM files (the URL is then https://). */
  tls?: { certFile: string; keyFile: string; ca: string | Buffer };
  /** Listen here (to bring a stopped frontend back where it was); a free port by default. */
  port?: number;
  /** Extra arguments for node itself (e.g. `--cpu-prof`), before the script. */
  nodeArgs?: string[];
}

/** Writes the test accounts' keys (TEST_CREDENTIALS, OTHER_TEST_CREDENTIALS) as a frontend keys file. */
export function writeTestKeysFile(dir: string): string {
  const file = join(dir, 'keys.json');
  writeFileSync(file, JSON.stringify({ keys: [TEST_CREDENTIALS, OTHER_TEST_CREDENTIALS] }), { mode: 0o600 });
  return file;
}

/** Starts frontend/src/main.ts against a metadata service and waits for /health. */
export async function startFrontend(metadataUrl: string, extraArgs: string[] = [], options: FrontendStartOptions = {}): Promise<FrontendProcess> {
  const port = options.port ?? ((await findFreePorts(1)) as [number])[0];
  const dir = makeTempDir('conveyor-frontend-');
  const logFile = join(dir, 'frontend.log');
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const authArgs = options.auth === false ? ['--no-auth'] : ['--auth-keys', writeTestKeysFile(dir)];
  const tlsArgs = options.tls ? ['--tls-cert', options.tls.certFile, '--tls-key', options.tls.keyFile] : [];
  // The launcher's V8 options and CONVEYOR_NODE_ARGS, as for nodes (e.g. for profiling).
  const nodeArgs = options.nodeArgs ?? serverNodeArgs();
  const args = [...nodeArgs, ...(await entryArgs('frontend/src/main.ts')), '--listen', `127.0.0.1:${port}`, '--metadata', metadataUrl, ...authArgs, ...tlsArgs, ...extraArgs];
  const dispatcher = options.tls ? new Agent({ connect: { ca: options.tls.ca } }) : undefined;
  const proc: TrackedProcess = await spawnTracked(process.execPath, args, {
    cwd: REPO_ROOT,
    env: nodeEnv(),
    logFile,
  });
  await pollUntil(
    async () => {
      if (proc.exitInfo) throw new Error(`the frontend exited: ${readLogTail(logFile, 20)}`);
      const res = await request(`${url}/health`, { headersTimeout: 1_000, bodyTimeout: 1_000, dispatcher });
      await res.body.dump();
      return res.statusCode === 200;
    },
    { timeoutMs: 30_000, what: 'the frontend to answer', details: () => readLogTail(logFile, 20) },
  );
  await dispatcher?.close();
  return {
    url,
    logFile,
    pid: proc.pid,
    async stop() {
      await terminateProcess(proc, 'frontend');
      removeTempDir(dir);
    },
  };
}

export interface TestStack {
  zookeeper: ZooKeeperServer;
  clusters: TestCluster[];
  metadata: MetadataServiceProcess;
  frontend: FrontendProcess;
  /** The SQS endpoint. */
  endpoint: string;
  close(): Promise<void>;
}

export async function startStack(options: { clusters?: number; nodesPerCluster?: number; zkRoot?: string; frontendArgs?: string[]; frontend?: FrontendStartOptions } = {}): Promise<TestStack> {
  const zkRoot = options.zkRoot ?? '/conveyor';
  const zookeeper = await startZooKeeper();
  const clusters: TestCluster[] = [];
  let metadata: MetadataServiceProcess | undefined;
  try {
    for (let i = 0; i < (options.clusters ?? 1); i++) {
      clusters.push(await startCluster({ nodes: options.nodesPerCluster ?? 3, clusterId: `c${i + 1}`, zookeeper, zkRoot, sessionTimeoutMs: 2_000 }));
    }
    await Promise.all(clusters.map((c) => c.waitForLeader()));
    metadata = await startMetadataService({ zookeeper, zkRoot });
    const frontend = await startFrontend(metadata.url, options.frontendArgs ?? [], options.frontend);
    const md = metadata;
    return {
      zookeeper,
      clusters,
      metadata: md,
      frontend,
      endpoint: frontend.url,
      async close() {
        await frontend.stop();
        await md.stop();
        for (const c of clusters) await c.close();
        await zookeeper.stop();
      },
    };
  } catch (error) {
    await metadata?.stop().catch(() => undefined);
    for (const c of clusters) await c.close().catch(() => undefined);
    await zookeeper.stop();
    throw error;
  }
}
