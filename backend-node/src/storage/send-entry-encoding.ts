/**
 * The log record of a send, encoded field by field: plain msgpack maps, which the log's reader
 * (decodeLogEntry, msgpackr) reads as it reads any record. A leader encodes every message sent
 * here; msgpackr's generic packer, shared with every other shape the node packs, spent most of
 * that time in megamorphic property lookups, and wrote into a growing shared buffer that had to
 * be copied out. Sizes are counted first, so the encoding is one exact allocation of its own.
 */
import { Packr } from 'msgpackr';
import { MsgpackWriter, msgpackArrayHeaderSize, msgpackNumberSize, msgpackStringSize } from '@conveyor/client-sdk/wire';
import type { NewMessage } from '../queue/types.ts';

/** Attributes (nested maps, rare) go through msgpackr, in plain maps. */
const plain = new Packr({ useRecords: false, mapsAsObjects: true });

/** A send's log entry, as LogEntry holds it. */
export interface SendEntry {
  offset: number;
  epoch: number;
  payload: { type: 'send'; ts: number; queue: string; messages: readonly NewMessage[] };
}

/**
 * Every field of NewMessage with its kind: a field added to NewMessage fails to compile here
 * until it is listed, and then fails at load until the writer below has a place for it, so none
 * is ever left out of the log.
 */
const FIELD_KINDS: { readonly [K in keyof Required<NewMessage>]: 'number' | 'string' | 'attributes' } = {
  seq: 'number',
  id: 'string',
  body: 'string',
  attributes: 'attributes',
  md5OfBody: 'string',
  md5OfAttributes: 'string',
  delayMs: 'number',
  groupId: 'string',
  dedupId: 'string',
  dedupKey: 'string',
  sequenceNumber: 'string',
  senderId: 'string',
  traceHeader: 'string',
};
/** Every field's name, for tests that set them all. */
export const SEND_MESSAGE_FIELDS = FIELD_KINDS;
const FIELDS = Object.keys(FIELD_KINDS) as Array<keyof NewMessage>;
const KEY_BYTES = new Map<string, Buffer>(['offset', 'epoch', 'payload', 'type', 'send', 'ts', 'queue', 'messages', ...FIELDS].map((k) => [k, Buffer.from(plain.pack(k))]));
const key = (name: string): Buffer => KEY_BYTES.get(name)!;

/** What one message's encoding needs from a first pass: the UTF-8 sizes of its strings, its attributes encoded. */
interface Sized {
  body: number;
  id: number;
  md5OfBody: number;
  attributes: Buffer | undefined;
  /** Sizes of the optional string fields, in OPTIONAL_STRINGS order (-1: absent). */
  optional: number[] | undefined;
  bytes: number;
  fields: number;
}

/** The optional string fields, written in this order after the others (and after attributes). */
const OPTIONAL_STRINGS = ['md5OfAttributes', 'groupId', 'dedupId', 'dedupKey', 'sequenceNumber', 'senderId', 'traceHeader'] as const;
export const SEND_OPTIONAL_STRINGS = OPTIONAL_STRINGS;
const K_SEQ = key('seq');
const K_ID = key('id');
const K_BODY = key('body');
const K_MD5_OF_BODY = key('md5OfBody');
const K_DELAY_MS = key('delayMs');
const K_ATTRIBUTES = key('attributes');
const OPTIONAL_KEYS = OPTIONAL_STRINGS.map(key);
/** The encoded keys, for the reader that skims these records (send-entry-skim.ts). */
export const SEND_ENTRY_KEYS = {
  offset: key('offset'),
  epoch: key('epoch'),
  payload: key('payload'),
  type: key('type'),
  send: key('send'),
  ts: key('ts'),
  queue: key('queue'),
  messages: key('messages'),
  seq: K_SEQ,
  id: K_ID,
  body: K_BODY,
  md5OfBody: K_MD5_OF_BODY,
  delayMs: K_DELAY_MS,
  attributes: K_ATTRIBUTES,
  optional: OPTIONAL_KEYS,
} as const;
// Every field has its place above: one added to NewMessage (and FIELD_KINDS) without one fails here, at load.
for (const name of FIELDS) {
  if (!['seq', 'id', 'body', 'md5OfBody', 'delayMs', 'attributes', ...OPTIONAL_STRINGS].includes(name)) throw new Error(`send entry encoding: no place for field ${name}`);
}

/** Sizes of `m`'s encoding; undefined if a field is not of the type written here (msgpackr writes that record). */
function sizeMessage(m: NewMessage): Sized | undefined {
  if (typeof m.seq !== 'number' || typeof m.delayMs !== 'number' || typeof m.id !== 'string' || typeof m.body !== 'string' || typeof m.md5OfBody !== 'string') return undefined;
  if (m.attributes !== undefined && (typeof m.attributes !== 'object' || m.attributes === null)) return undefined;
  const id = Buffer.byteLength(m.id, 'utf8');
  const body = Buffer.byteLength(m.body, 'utf8');
  const md5OfBody = Buffer.byteLength(m.md5OfBody, 'utf8');
  let bytes = 1 + K_SEQ.length + msgpackNumberSize(m.seq) + K_ID.length + msgpackStringSize(id) + K_BODY.length + msgpackStringSize(body) + K_MD5_OF_BODY.length + msgpackStringSize(md5OfBody) + K_DELAY_MS.length + msgpackNumberSize(m.delayMs);
  let fields = 5;
  let attributes: Buffer | undefined;
  if (m.attributes !== undefined) {
    attributes = Buffer.from(plain.pack(m.attributes));
    bytes += K_ATTRIBUTES.length + attributes.length;
    fields++;
  }
  let optional: number[] | undefined;
  // Most messages carry none of the optional strings (senderId aside): one pass finds out.
  for (let i = 0; i < OPTIONAL_STRINGS.length; i++) {
    const value = m[OPTIONAL_STRINGS[i]!];
    if (value === undefined) continue;
    if (typeof value !== 'string') return undefined;
    optional ??= new Array<number>(OPTIONAL_STRINGS.length).fill(-1);
    const n = Buffer.byteLength(value, 'utf8');
    optional[i] = n;
    bytes += OPTIONAL_KEYS[i]!.length + msgpackStringSize(n);
    fields++;
  }
  return { body, id, md5OfBody, attributes, optional, bytes, fields };
}

/**
 * The encoding of a send's log entry: `{ offset, epoch, payload: { type, ts, queue, messages } }`.
 * A record with a field of another type than NewMessage says is left to `fallback` whole.
 */
export function encodeSendEntry(entry: SendEntry, fallback: (entry: SendEntry) => Buffer): Buffer {
  const { payload } = entry;
  const messages = payload.messages;
  if (typeof payload.queue !== 'string' || typeof payload.ts !== 'number' || typeof entry.offset !== 'number' || typeof entry.epoch !== 'number') return fallback(entry);
  const sized: Sized[] = [];
  for (const m of messages) {
    const s = sizeMessage(m);
    if (!s) return fallback(entry);
    sized.push(s);
  }
  const queueBytes = Buffer.byteLength(payload.queue, 'utf8');
  let total = 1 + key('offset').length + msgpackNumberSize(entry.offset) + key('epoch').length + msgpackNumberSize(entry.epoch) + key('payload').length;
  total += 1 + key('type').length + key('send').length + key('ts').length + msgpackNumberSize(payload.ts) + key('queue').length + msgpackStringSize(queueBytes);
  total += key('messages').length + msgpackArrayHeaderSize(messages.length);
  for (const s of sized) total += s.bytes;

  const w = new MsgpackWriter(Buffer.allocUnsafe(total));
  w.mapHeader(3);
  w.bytes(key('offset'));
  w.number(entry.offset);
  w.bytes(key('epoch'));
  w.number(entry.epoch);
  w.bytes(key('payload'));
  w.mapHeader(4);
  w.bytes(key('type'));
  w.bytes(key('send'));
  w.bytes(key('ts'));
  w.number(payload.ts);
  w.bytes(key('queue'));
  w.sizedString(payload.queue, queueBytes);
  w.bytes(key('messages'));
  w.arrayHeader(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const sz = sized[i]!;
    w.mapHeader(sz.fields);
    w.bytes(K_SEQ);
    w.number(m.seq);
    w.bytes(K_ID);
    w.sizedString(m.id, sz.id);
    w.bytes(K_BODY);
    w.sizedString(m.body, sz.body);
    w.bytes(K_MD5_OF_BODY);
    w.sizedString(m.md5OfBody, sz.md5OfBody);
    w.bytes(K_DELAY_MS);
    w.number(m.delayMs);
    if (sz.attributes) {
      w.bytes(K_ATTRIBUTES);
      w.bytes(sz.attributes);
    }
    const optional = sz.optional;
    if (optional) {
      for (let f = 0; f < OPTIONAL_STRINGS.length; f++) {
        if (optional[f]! < 0) continue;
        w.bytes(OPTIONAL_KEYS[f]!);
        w.sizedString(m[OPTIONAL_STRINGS[f]!]!, optional[f]!);
      }
    }
  }
  if (w.pos !== total) throw new Error(`send entry encoding: wrote ${w.pos} bytes, counted ${total}`);
  return w.buf;
}
