/**
 * The access keys a frontend accepts, read from a JSON file:
 * `{"keys": [{"accessKeyId": "...", "secretAccessKey": "...", "accountId": "123456789012"}]}`.
 * Every problem is reported as one sentence that names the file and the entry.
 */
import { readFileSync } from 'node:fs';
import type { AccessKey } from './sigv4-verify.ts';

export class AccessKeys {
  private readonly byId: ReadonlyMap<string, AccessKey>;

  constructor(keys: readonly AccessKey[]) {
    this.byId = new Map(keys.map((k) => [k.accessKeyId, Object.freeze({ ...k })]));
  }

  get size(): number {
    return this.byId.size;
  }

  lookup(accessKeyId: string): AccessKey | undefined {
    return this.byId.get(accessKeyId);
  }
}

/** Checks parsed keys-file content; throws an Error whose message names what is wrong. */
export function parseAccessKeys(content: unknown, source = 'the keys file'): AccessKeys {
  const keys = (content as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${source} must be a JSON object {"keys": [{"accessKeyId", "secretAccessKey", "accountId"}, ...]} with at least one key`);
  const seen = new Set<string>();
  const out: AccessKey[] = keys.map((entry: unknown, i) => {
    const k = entry as Partial<Record<keyof AccessKey, unknown>> | null;
    if (typeof k?.accessKeyId !== 'string' || !/^[A-Za-z0-9]{3,128}$/.test(k.accessKeyId)) throw new Error(`${source}: keys[${i}].accessKeyId must be 3 to 128 letters and digits`);
    if (typeof k.secretAccessKey !== 'string' || k.secretAccessKey.length < 8) throw new Error(`${source}: keys[${i}].secretAccessKey must be a string of at least 8 characters`);
    if (typeof k.accountId !== 'string' || !/^\d{12}$/.test(k.accountId)) throw new Error(`${source}: keys[${i}].accountId must be a 12-digit account id`);
    if (seen.has(k.accessKeyId)) throw new Error(`${source}: access key ${k.accessKeyId} is listed twice`);
    seen.add(k.accessKeyId);
    return { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey, accountId: k.accountId };
  });
  return new AccessKeys(out);
}

export function loadAccessKeys(file: string): AccessKeys {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the keys file ${file}: ${(error as Error).message}`);
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch {
    throw new Error(`the keys file ${file} is not valid JSON`);
  }
  return parseAccessKeys(content, `the keys file ${file}`);
}
