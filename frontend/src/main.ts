/**
 * The frontend process: Amazon SQS's JSON protocol, routed to backend clusters by the metadata
 * service. Flags (or environment variables):
 *   --listen (CONVEYOR_LISTEN)          host:port (default 127.0.0.1:9324, the port SQS emulators use)
 *   --metadata (CONVEYOR_METADATA_URL)  metadata service URL (default http://127.0.0.1:9350)
 *   --public-url (CONVEYOR_PUBLIC_URL)  base of queue URLs handed to clients (default http://<listen>)
 *   --account (CONVEYOR_ACCOUNT)        account id of callers until authentication (default 000000000000)
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { buildFrontend } from './http/server.ts';
import { MetadataClient } from './upstream/metadata-client.ts';
import { Router } from './upstream/router.ts';

function fail(message: string): never {
  process.stderr.write(`conveyor frontend: ${message}\n`);
  process.exit(2);
}

let values;
try {
  values = parseArgs({ options: { listen: { type: 'string' }, metadata: { type: 'string' }, 'public-url': { type: 'string' }, account: { type: 'string' } }, strict: true }).values;
} catch (error) {
  fail(`${(error as Error).message}. See the flags at the top of frontend/src/main.ts.`);
}
const env = process.env;
const listen = values.listen ?? env.CONVEYOR_LISTEN ?? '127.0.0.1:9324';
const match = /^(.+):(\d{1,5})$/.exec(listen);
if (!match) fail(`--listen must be host:port, not "${listen}"`);
const account = values.account ?? env.CONVEYOR_ACCOUNT ?? '000000000000';
if (!/^\d{12}$/.test(account)) fail('--account must be a 12-digit account id');
const publicUrl = (values['public-url'] ?? env.CONVEYOR_PUBLIC_URL ?? `http://${listen}`).replace(/\/+$/, '');

const logger = pino({ base: { service: 'frontend' } });
const router = new Router(new MetadataClient(values.metadata ?? env.CONVEYOR_METADATA_URL ?? 'http://127.0.0.1:9350'));
const app = buildFrontend({ router, publicUrl, account, logger: logger.child({ component: 'http' }, { level: 'warn' }) });
try {
  await app.listen({ host: match[1], port: Number(match[2]) });
} catch (error) {
  fail(`cannot listen on ${listen}: ${(error as Error).message}`);
}
logger.info({ listen, publicUrl }, 'listening');

const shutdown = async (): Promise<void> => {
  setTimeout(() => process.exit(1), 5_000).unref();
  await app.close().catch(() => {});
  await router.close();
  process.exit(0);
};
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
