/**
 * A backend node process. Flags (or environment variables):
 *   --node-id (CONVEYOR_NODE_ID)            this node's id, unique in its cluster
 *   --cluster-id (CONVEYOR_CLUSTER_ID)      the cluster (replica set) it belongs to
 *   --data-dir (CONVEYOR_DATA_DIR)          its LevelDB directory
 *   --listen (CONVEYOR_LISTEN)              host:port to serve on (default 127.0.0.1:9400)
 *   --advertise (CONVEYOR_ADVERTISE)        URL others use to reach it (default http://<listen>)
 *   --zookeeper (CONVEYOR_ZOOKEEPER)        ZooKeeper connect string (default 127.0.0.1:2181)
 *   --zk-root (CONVEYOR_ZK_ROOT)            root znode (default /conveyor)
 *   --min-insync, --session-timeout-ms, --replica-lag-ms, --fetch-wait-ms
 *   --log-retention-ms                      how long log records are kept before trimming (default 30000)
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildServer } from './http/server.ts';
import { ReplicaNode } from './node/replica-node.ts';
import { StorageError } from './storage/queue-store.ts';

const DEFAULTS = Object.freeze({
  listen: '127.0.0.1:9400',
  zookeeper: '127.0.0.1:2181',
  zkRoot: '/conveyor',
  minInSync: 2,
  sessionTimeoutMs: 6_000,
  replicaLagMs: 2_000,
  fetchWaitMs: 500,
  logRetentionMs: 30_000,
});

function fail(message: string): never {
  process.stderr.write(`conveyor backend node: ${message}\n`);
  process.exit(2);
}

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) fail(`--${name} must be an integer >= ${min}, not "${text}"`);
  return value;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      'node-id': { type: 'string' },
      'cluster-id': { type: 'string' },
      'data-dir': { type: 'string' },
      listen: { type: 'string' },
      advertise: { type: 'string' },
      zookeeper: { type: 'string' },
      'zk-root': { type: 'string' },
      'min-insync': { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      'replica-lag-ms': { type: 'string' },
      'fetch-wait-ms': { type: 'string' },
      'log-retention-ms': { type: 'string' },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(`${(error as Error).message}. See the flags at the top of backend-node/src/main.ts.`);
}

const env = process.env;
const nodeId = parsed['node-id'] ?? env.CONVEYOR_NODE_ID;
const clusterId = parsed['cluster-id'] ?? env.CONVEYOR_CLUSTER_ID;
const dataDir = parsed['data-dir'] ?? env.CONVEYOR_DATA_DIR;
if (!nodeId || !/^[A-Za-z0-9_-]{1,64}$/.test(nodeId)) fail('--node-id is required: 1-64 letters, digits, - or _');
if (!clusterId || !/^[A-Za-z0-9_-]{1,64}$/.test(clusterId)) fail('--cluster-id is required: 1-64 letters, digits, - or _');
if (!dataDir) fail('--data-dir is required');
const listen = parsed.listen ?? env.CONVEYOR_LISTEN ?? DEFAULTS.listen;
const match = /^(.+):(\d{1,5})$/.exec(listen);
if (!match) fail(`--listen must be host:port, not "${listen}"`);
const [, host, portText] = match;
const port = Number(portText);
const advertisedUrl = parsed.advertise ?? env.CONVEYOR_ADVERTISE ?? `http://${host}:${port}`;
const zkRoot = parsed['zk-root'] ?? env.CONVEYOR_ZK_ROOT ?? DEFAULTS.zkRoot;
if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(zkRoot)) fail(`--zk-root must be an absolute znode path, not "${zkRoot}"`);

const logger = pino({ base: { node: nodeId, cluster: clusterId } });
const log = (message: string, extra: Record<string, unknown> = {}): void => logger.info(extra, message);

const replicaLagMs = integer('replica-lag-ms', parsed['replica-lag-ms'], DEFAULTS.replicaLagMs, 100);
const fetchWaitMs = integer('fetch-wait-ms', parsed['fetch-wait-ms'], Math.min(DEFAULTS.fetchWaitMs, Math.floor(replicaLagMs / 4)), 0);
// A follower parked in a long fetch must still look alive to its leader.
if (fetchWaitMs * 2 >= replicaLagMs) fail(`--fetch-wait-ms (${fetchWaitMs}) must be less than half of --replica-lag-ms (${replicaLagMs})`);

let node: ReplicaNode;
try {
  node = await ReplicaNode.open({
    nodeId,
    clusterId,
    dataDir,
    advertisedUrl,
    zookeeper: parsed.zookeeper ?? env.CONVEYOR_ZOOKEEPER ?? DEFAULTS.zookeeper,
    zkRoot,
    minInSync: integer('min-insync', parsed['min-insync'] ?? env.CONVEYOR_MIN_INSYNC, DEFAULTS.minInSync, 1),
    sessionTimeoutMs: integer('session-timeout-ms', parsed['session-timeout-ms'], DEFAULTS.sessionTimeoutMs, 1_000),
    replicaLagMs,
    fetchWaitMs,
    logRetentionMs: integer('log-retention-ms', parsed['log-retention-ms'], DEFAULTS.logRetentionMs, 0),
    log,
  });
} catch (error) {
  if (error instanceof StorageError) fail(error.message);
  throw error;
}

// Per-request logs only at warn and above: a busy node serves tens of thousands of requests a second.
const app = buildServer(node, { logger: logger.child({ component: 'http' }, { level: 'warn' }) });
try {
  await app.listen({ host, port });
} catch (error) {
  await node.close();
  fail(`cannot listen on ${listen}: ${(error as Error).message}`);
}
log('listening', { url: advertisedUrl });
await node.start();

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('shutting down', { signal });
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await app.close().catch(() => {});
  await node.close().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
