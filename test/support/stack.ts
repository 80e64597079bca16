/**
 * A whole local Conveyor for end-to-end tests: a private ZooKeeper, one or more backend clusters,
 * a metadata service and a frontend process serving the SQS JSON protocol. Everything is a real
 * process on free ports; close() stops it all.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { nodeEnv, startCluster, type TestCluster } from './cluster.ts';
import { startMetadataService, type MetadataServiceProcess } from './metadata.ts';
import { findFreePorts, makeTempDir, pollUntil, readLogTail, removeTempDir, spawnTracked, terminateProcess, startZooKeeper, type TrackedProcess, type ZooKeeperServer } from './zookeeper.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface FrontendProcess {
  readonly url: string;
  readonly logFile: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts frontend/src/main.ts against a metadata service and waits for /health (on `options.port` to bring one back where it was). */
export async function startFrontend(metadataUrl: string, extraArgs: string[] = [], options: { port?: number } = {}): Promise<FrontendProcess> {
  const port = options.port ?? ((await findFreePorts(1)) as [number])[0];
  const dir = makeTempDir('conveyor-frontend-');
  const logFile = join(dir, 'frontend.log');
  const url = `http://127.0.0.1:${port}`;
  const proc: TrackedProcess = await spawnTracked(process.execPath, ['--import', 'tsx', 'frontend/src/main.ts', '--listen', `127.0.0.1:${port}`, '--metadata', metadataUrl, ...extraArgs], {
    cwd: REPO_ROOT,
    env: nodeEnv(),
    logFile,
  });
  await pollUntil(
    async () => {
      if (proc.exitInfo) throw new Error(`the frontend exited: ${readLogTail(logFile, 20)}`);
      const res = await request(`${url}/health`, { headersTimeout: 1_000, bodyTimeout: 1_000 });
      await res.body.dump();
      return res.statusCode === 200;
    },
    { timeoutMs: 30_000, what: 'the frontend to answer', details: () => readLogTail(logFile, 20) },
  );
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

export async function startStack(options: { clusters?: number; nodesPerCluster?: number; zkRoot?: string } = {}): Promise<TestStack> {
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
    const frontend = await startFrontend(metadata.url);
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
