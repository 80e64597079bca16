/**
 * The access key of a local Conveyor: made on first start (random, from node:crypto), kept in the
 * data directory with mode 0600 in the frontend's keys-file format, and reused on every later
 * start, so clients configured once keep working.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
}

export const KEYS_FILE = 'auth-keys.json';
/** The account of the local key; bare queue names on the metadata API mean this account too. */
export const LOCAL_ACCOUNT = '000000000000';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomText(length: number, alphabet: string): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** The data directory's key (created when missing) and the keys file to pass to frontends. */
export function localCredentials(dataDir: string): { credentials: LocalCredentials; keysFile: string } {
  const keysFile = join(dataDir, KEYS_FILE);
  if (existsSync(keysFile)) {
    const parsed = JSON.parse(readFileSync(keysFile, 'utf8')) as { keys?: LocalCredentials[] };
    const key = parsed.keys?.[0];
    if (!key?.accessKeyId || !key.secretAccessKey || !key.accountId) throw new Error(`${keysFile} holds no usable key; delete it to get a new one`);
    chmodSync(keysFile, 0o600);
    return { credentials: key, keysFile };
  }
  const credentials: LocalCredentials = {
    accessKeyId: `AKIA${randomText(16, ALPHANUMERIC)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    accountId: LOCAL_ACCOUNT,
  };
  writeFileSync(keysFile, `${JSON.stringify({ keys: [credentials] }, null, 2)}\n`, { mode: 0o600 });
  return { credentials, keysFile };
}
