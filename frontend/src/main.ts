/**
 * The frontend process: Amazon SQS's JSON protocol, routed to backend clusters by the metadata
 * service. Flags (or environment variables):
 *   --listen (CONVEYOR_LISTEN)          host:port (default 127.0.0.1:9324, the port SQS emulators use)
 *   --metadata (CONVEYOR_METADATA_URL)  metadata service URL (default http://127.0.0.1:9350)
 *   --public-url (CONVEYOR_PUBLIC_URL)  base of queue URLs handed to clients (default http://<listen>)
 *   --account (CONVEYOR_ACCOUNT)        account id of every caller when authentication is off (default 000000000000)
 *   --auth-keys (CONVEYOR_AUTH_KEYS)    JSON file {"keys":[{"accessKeyId","secretAccessKey","accountId"}]}: SigV4 keys accepted
 *   --no-auth (CONVEYOR_NO_AUTH=1)      turn authentication off explicitly (one of the two is required)
 *   --region (CONVEYOR_REGION)          region of the signatures' credential scope (default us-east-1)
 *   --tls-cert, --tls-key (CONVEYOR_TLS_CERT, CONVEYOR_TLS_KEY)  PEM files: serve HTTPS
 *   --trust-proxy (CONVEYOR_TRUST_PROXY)  comma-separated addresses/CIDRs of proxies whose X-Forwarded-Proto/-For are believed
 *   --log-level (CONVEYOR_LOG_LEVEL)    pino level (default info; debug logs every request)
 * Throttling and load shedding (defaults in TRAFFIC_DEFAULTS, http/traffic-guard.ts; 0 = off):
 *   --throttle-key-rps, --throttle-key-burst        requests/s and burst per access key (10000, 20000)
 *   --throttle-queue-rps, --throttle-queue-burst    requests/s and burst per queue (10000, 20000)
 *   --throttle-max-tracked                          token buckets kept per table (10000)
 *   --max-in-flight                                 requests in flight before 503 (4096)
 *   --max-long-polls                                parked long polls before 503 (20000)
 *   --max-event-loop-delay-ms                       mean event-loop delay before 503 (1000)
 * (each also as CONVEYOR_<FLAG> in upper snake case, e.g. CONVEYOR_THROTTLE_KEY_RPS)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildFrontend } from './http/server.ts';
import { TRAFFIC_DEFAULTS, type TrafficConfig } from './http/traffic-guard.ts';
import { FrontendMetrics } from './observability/metrics.ts';
import { loadAccessKeys, type AccessKeys } from './auth/access-keys.ts';
import { MetadataClient } from './upstream/metadata-client.ts';
import { Router } from './upstream/router.ts';

/** Traffic flags → TrafficConfig fields. */
const TRAFFIC_FLAGS: Readonly<Record<string, keyof TrafficConfig>> = {
  'throttle-key-rps': 'keyRatePerSecond',
  'throttle-key-burst': 'keyBurst',
  'throttle-queue-rps': 'queueRatePerSecond',
  'throttle-queue-burst': 'queueBurst',
  'throttle-max-tracked': 'maxTrackedBuckets',
  'max-in-flight': 'maxInFlight',
  'max-long-polls': 'maxLongPolls',
  'max-event-loop-delay-ms': 'maxEventLoopDelayMs',
};

function fail(message: string): never {
  process.stderr.write(`conveyor frontend: ${message}\n`);
  process.exit(2);
}

let values;
try {
  values = parseArgs({
    options: {
      listen: { type: 'string' }, metadata: { type: 'string' }, 'public-url': { type: 'string' }, account: { type: 'string' }, 'log-level': { type: 'string' },
      'auth-keys': { type: 'string' }, 'no-auth': { type: 'boolean' }, region: { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'trust-proxy': { type: 'string' },
      ...Object.fromEntries(Object.keys(TRAFFIC_FLAGS).map((f) => [f, { type: 'string' as const }])),
    },
    strict: true,
  }).values;
} catch (error) {
  fail(`${(error as Error).message}. See the flags at the top of frontend/src/main.ts.`);
}
const env = process.env;
const listen = values.listen ?? env.CONVEYOR_LISTEN ?? '127.0.0.1:9324';
const match = /^(.+):(\d{1,5})$/.exec(listen);
if (!match) fail(`--listen must be host:port, not "${listen}"`);
const account = values.account ?? env.CONVEYOR_ACCOUNT ?? '000000000000';
if (!/^\d{12}$/.test(account)) fail('--account must be a 12-digit account id');

const keysFile = values['auth-keys'] ?? env.CONVEYOR_AUTH_KEYS;
const noAuth = values['no-auth'] === true || env.CONVEYOR_NO_AUTH === '1';
if (keysFile && noAuth) fail('--auth-keys and --no-auth contradict each other; give one of them');
if (!keysFile && !noAuth) fail('authentication needs access keys: pass --auth-keys <file> (or CONVEYOR_AUTH_KEYS), or --no-auth to turn it off explicitly');
let keys: AccessKeys | undefined;
try {
  keys = keysFile ? loadAccessKeys(keysFile) : undefined;
} catch (error) {
  fail((error as Error).message);
}
const region = values.region ?? env.CONVEYOR_REGION ?? 'us-east-1';
if (!/^[a-z0-9-]{1,32}$/.test(region)) fail(`--region must be a region name such as us-east-1, not "${region}"`);

const certFile = values['tls-cert'] ?? env.CONVEYOR_TLS_CERT;
const keyFile = values['tls-key'] ?? env.CONVEYOR_TLS_KEY;
if (!certFile !== !keyFile) fail('--tls-cert and --tls-key go together: give both to serve HTTPS, or neither');
let tls: { cert: Buffer; key: Buffer } | undefined;
try {
  tls = certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;
} catch (error) {
  fail(`cannot read the TLS certificate or key: ${(error as Error).message}`);
}
const trustProxy = (values['trust-proxy'] ?? env.CONVEYOR_TRUST_PROXY ?? '').split(',').map((a) => a.trim()).filter((a) => a !== '');
for (const address of trustProxy) if (!/^[0-9a-fA-F.:]+(\/\d{1,3})?$/.test(address)) fail(`--trust-proxy takes addresses or CIDR ranges separated by commas, not "${address}"`);
const publicUrl = (values['public-url'] ?? env.CONVEYOR_PUBLIC_URL ?? `${tls ? 'https' : 'http'}://${listen}`).replace(/\/+$/, '');

const flags = values as Record<string, string | undefined>; // the traffic flags are all strings
const traffic: Partial<Record<keyof TrafficConfig, number>> = {};
for (const [flag, field] of Object.entries(TRAFFIC_FLAGS)) {
  const text = flags[flag] ?? env[`CONVEYOR_${flag.toUpperCase().replace(/-/g, '_')}`];
  if (text === undefined) continue;
  if (!/^\d+(\.\d+)?$/.test(text)) fail(`--${flag} must be a number >= 0, not "${text}"`);
  traffic[field] = Number(text);
}
const level = values['log-level'] ?? env.CONVEYOR_LOG_LEVEL ?? 'info';
if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) fail(`--log-level must be one of fatal, error, warn, info, debug, trace, silent (not "${level}")`);

const logger = pino({ base: { service: 'frontend' }, level });
const metrics = new FrontendMetrics();
// Every long poll the frontend admits can park at a leader on a connection of its own (0: no bound).
const maxLongPolls = traffic.maxLongPolls ?? TRAFFIC_DEFAULTS.maxLongPolls;
const router = new Router(new MetadataClient(values.metadata ?? env.CONVEYOR_METADATA_URL ?? 'http://127.0.0.1:9350', 5_000, metrics), metrics, { longPollConnections: maxLongPolls > 0 ? maxLongPolls : 100_000 });
let app;
try {
  app = buildFrontend({ router, publicUrl, account, keys, region, tls, trustProxy, metrics, traffic, logger: logger.child({ component: 'http' }) });
} catch (error) {
  // Name the flag, not the config field.
  const field = /^(\w+) /.exec((error as Error).message)?.[1];
  const flag = Object.entries(TRAFFIC_FLAGS).find(([, f]) => f === field)?.[0];
  fail(flag ? (error as Error).message.replace(field!, `--${flag}`) : (error as Error).message);
}
try {
  await app.listen({ host: match[1], port: Number(match[2]) });
} catch (error) {
  fail(`cannot listen on ${listen}: ${(error as Error).message}`);
}
logger.info({ listen, publicUrl, auth: keys ? `${keys.size} keys` : 'off', tls: !!tls }, 'listening');

const shutdown = async (): Promise<void> => {
  setTimeout(() => process.exit(1), 5_000).unref();
  await app.close().catch(() => {});
  await router.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
