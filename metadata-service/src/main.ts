/**
 * The metadata service process. Flags (or environment variables):
 *   --listen (CONVEYOR_METADATA_LISTEN)   host:port (default 127.0.0.1:9350)
 *   --zookeeper (CONVEYOR_ZOOKEEPER)      connect string (default 127.0.0.1:2181)
 *   --zk-root (CONVEYOR_ZK_ROOT)          root znode (default /conveyor)
 *   --region (CONVEYOR_REGION)            region in queue ARNs (default local)
 *   --default-owner                       account id for requests that name none (default 000000000000)
 *   --session-timeout-ms                  ZooKeeper session timeout (default 6000)
 *   --deleted-recently-ms                 SQS's QueueDeletedRecently window (default 0: off)
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildMetadataServer } from './http/server.ts';
import { MetadataService } from './metadata-service.ts';

function fail(message: string): never {
  process.stderr.write(`conveyor metadata service: ${message}\n`);
  process.exit(2);
}

let values;
try {
  values = parseArgs({
    options: {
      listen: { type: 'string' },
      zookeeper: { type: 'string' },
      'zk-root': { type: 'string' },
      region: { type: 'string' },
      'default-owner': { type: 'string' },
      'session-timeout-ms': { type: 'string' },
      'deleted-recently-ms': { type: 'string' },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(`${(error as Error).message}. See the flags at the top of metadata-service/src/main.ts.`);
}
const env = process.env;
const listen = values.listen ?? env.CONVEYOR_METADATA_LISTEN ?? '127.0.0.1:9350';
const match = /^(.+):(\d{1,5})$/.exec(listen);
if (!match) fail(`--listen must be host:port, not "${listen}"`);
const root = values['zk-root'] ?? env.CONVEYOR_ZK_ROOT ?? '/conveyor';
if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(root)) fail(`--zk-root must be an absolute znode path, not "${root}"`);
const owner = values['default-owner'] ?? '000000000000';
if (!/^\d{12}$/.test(owner)) fail('--default-owner must be a 12-digit account id');
const integer = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer`);
  return n;
};

const logger = pino({ base: { service: 'metadata' } });
const service = new MetadataService({
  zookeeper: values.zookeeper ?? env.CONVEYOR_ZOOKEEPER ?? '127.0.0.1:2181',
  root,
  region: values.region ?? env.CONVEYOR_REGION ?? 'local',
  defaultOwner: owner,
  sessionTimeoutMs: Math.max(1000, integer('session-timeout-ms', values['session-timeout-ms'], 6000)),
  deletedRecentlyMs: integer('deleted-recently-ms', values['deleted-recently-ms'], 0),
  log: (message, extra = {}) => logger.info(extra, message),
});
const app = buildMetadataServer(service, logger.child({ component: 'http' }, { level: 'warn' }));
try {
  await app.listen({ host: match[1], port: Number(match[2]) });
} catch (error) {
  fail(`cannot listen on ${listen}: ${(error as Error).message}`);
}
logger.info({ listen }, 'listening');
await service.start();

const shutdown = async (): Promise<void> => {
  setTimeout(() => process.exit(1), 5_000).unref();
  await app.close().catch(() => {});
  await service.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
