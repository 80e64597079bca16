/**
 * A writer for the one large answer of the native API, ReceiveMessage's `{ messages }`: plain
 * msgpack (maps with string keys), so any msgpack reader, and decodeNative, reads it. msgpackr's
 * generic encoder spends most of its time on property lookups over objects of varying shape;
 * this one knows the shape, and a drain encodes every message at the backend and again at the
 * frontend.
 */
import { Packr } from 'msgpackr';
import type { NativeReceivedMessage } from './native.ts';
import type { ReceivedSystemAttributes } from './types.ts';

type SystemKey = keyof ReceivedSystemAttributes;

/** Anything unusual (message attributes) goes through msgpackr, in plain maps. */
const plain = new Packr({ useRecords: false, mapsAsObjects: true });

const keyBytes = (key: string): Uint8Array => plain.pack(key);

const K_MESSAGES = keyBytes('messages');
const K_MESSAGE_ID = keyBytes('messageId');
const K_RECEIPT_HANDLE = keyBytes('receiptHandle');
const K_BODY = keyBytes('body');
const K_MD5_OF_BODY = keyBytes('md5OfBody');
const K_ATTRIBUTES = keyBytes('attributes');
const K_MD5_OF_ATTRIBUTES = keyBytes('md5OfMessageAttributes');
const K_SYSTEM_ATTRIBUTES = keyBytes('systemAttributes');
/** System attribute names are few and fixed: their encodings are kept, written by copy. */
const systemKeys = new Map<string, Uint8Array>();
const systemKey = (key: string): Uint8Array => {
  let bytes = systemKeys.get(key);
  if (!bytes) {
    bytes = keyBytes(key);
    if (systemKeys.size < 64) systemKeys.set(key, bytes);
  }
  return bytes;
};

/** Largest UTF-8 size of a string of `length` UTF-16 units, plus its longest header. */
const stringBound = (length: number): number => length * 3 + 5;

class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  bytes(b: Uint8Array): void {
    const buf = this.buf;
    let pos = this.pos;
    if (b.length <= 16) for (let i = 0; i < b.length; i++) buf[pos++] = b[i]!;
    else {
      buf.set(b, pos);
      pos += b.length;
    }
    this.pos = pos;
  }

  mapHeader(n: number): void {
    if (n < 16) this.buf[this.pos++] = 0x80 | n;
    else {
      this.buf[this.pos++] = 0xde;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    }
  }

  arrayHeader(n: number): void {
    const buf = this.buf;
    if (n < 16) buf[this.pos++] = 0x90 | n;
    else if (n < 0x10000) {
      buf[this.pos++] = 0xdc;
      buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      buf[this.pos++] = 0xdd;
      buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }

  /**
   * A msgpack str. Short ASCII strings (ids, handles, digests, timestamps) are copied in a loop;
   * longer ones are written by Node's UTF-8 encoder behind a header sized for their largest
   * possible encoding (a wider header than needed is still valid msgpack).
   */
  string(s: string): void {
    const buf = this.buf;
    const length = s.length;
    let pos = this.pos;
    if (length < 64) {
      const start = pos + (length < 32 ? 1 : 2);
      let i = 0;
      for (; i < length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === length) {
        if (length < 32) buf[pos] = 0xa0 | length;
        else {
          buf[pos] = 0xd9;
          buf[pos + 1] = length;
        }
        this.pos = start + length;
        return;
      }
    }
    const max = length * 3;
    if (max < 0x100) {
      const n = buf.write(s, pos + 2);
      buf[pos] = 0xd9;
      buf[pos + 1] = n;
      pos += 2 + n;
    } else if (max < 0x10000) {
      const n = buf.write(s, pos + 3);
      buf[pos] = 0xda;
      buf.writeUInt16BE(n, pos + 1);
      pos += 3 + n;
    } else {
      const n = buf.write(s, pos + 5);
      buf[pos] = 0xdb;
      buf.writeUInt32BE(n, pos + 1);
      pos += 5 + n;
    }
    this.pos = pos;
  }
}

/** An upper bound of one message's encoded size (structure definitions are bounded apart). */
function messageBound(m: NativeReceivedMessage, attributes: Uint8Array | undefined): number {
  let size = 16 + stringBound(m.messageId.length) + stringBound(m.receiptHandle.length) + stringBound(m.body.length) + stringBound(m.md5OfBody.length);
  const system = m.systemAttributes;
  for (const key in system) {
    const value = system[key as SystemKey];
    if (value !== undefined) size += stringBound(key.length) + stringBound(value.length);
  }
  if (attributes) size += attributes.length;
  if (m.md5OfMessageAttributes !== undefined) size += stringBound(m.md5OfMessageAttributes.length);
  return size;
}

/** The system attributes a receive can carry, in the order they are written. */
const SYSTEM_KEYS = ['SenderId', 'SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SequenceNumber', 'MessageDeduplicationId', 'MessageGroupId', 'AWSTraceHeader', 'DeadLetterQueueSourceArn'] as const;
/** Bit i of a system attributes shape is SYSTEM_KEYS[i] (systemShape spells them out). */
const SYSTEM_BIT = new Map<string, number>(SYSTEM_KEYS.map((key, i) => [key, 1 << i]));
const MESSAGE_HAS_ATTRIBUTES = 1 << 9;
const MESSAGE_HAS_MD5_OF_ATTRIBUTES = 1 << 10;
/** Shapes are told apart from system attribute sets by this bit. */
const MESSAGE_SHAPE = 1 << 11;
/** Record ids of msgpackr's one-byte form. */
const FIRST_RECORD_ID = 0x40;
const LAST_RECORD_ID = 0x7f;
/** Bytes a structure definition can take: fixext header, array header and every key. */
const DEFINITION_BOUND = 3 + 3 + [...SYSTEM_KEYS, 'messageId', 'receiptHandle', 'body', 'md5OfBody', 'attributes', 'md5OfMessageAttributes', 'systemAttributes'].reduce((n, k) => n + k.length + 2, 0);

function keysOf(shape: number): Uint8Array[] {
  if (shape & MESSAGE_SHAPE) {
    const keys = [K_MESSAGE_ID, K_RECEIPT_HANDLE, K_BODY, K_MD5_OF_BODY];
    if (shape & MESSAGE_HAS_ATTRIBUTES) keys.push(K_ATTRIBUTES);
    if (shape & MESSAGE_HAS_MD5_OF_ATTRIBUTES) keys.push(K_MD5_OF_ATTRIBUTES);
    keys.push(K_SYSTEM_ATTRIBUTES);
    return keys;
  }
  return SYSTEM_KEYS.filter((key) => shape & SYSTEM_BIT.get(key)!).map(systemKey);
}

/**
 * msgpackr's records, written by hand: the first object of a shape is preceded by a definition
 * (fixext 1 of type "r" with the record id, then the array of keys) and every object of that
 * shape is its id and then its values. Each answer defines its own, so it reads on its own.
 */
class Records {
  private readonly ids = new Map<number, number>();
  private next = FIRST_RECORD_ID;

  /** Starts an object of `shape`; false when no record id is left (the caller writes a plain map). */
  begin(w: Writer, shape: number): boolean {
    const id = this.ids.get(shape);
    if (id !== undefined) {
      w.buf[w.pos++] = id;
      return true;
    }
    if (this.next > LAST_RECORD_ID) return false;
    const fresh = this.next++;
    this.ids.set(shape, fresh);
    const keys = keysOf(shape);
    w.buf[w.pos++] = 0xd4;
    w.buf[w.pos++] = 0x72;
    w.buf[w.pos++] = fresh;
    w.arrayHeader(keys.length);
    for (const key of keys) w.bytes(key);
    return true;
  }
}

/** Which known system attributes are set, as SYSTEM_KEYS bits; -1 if any other key is there. */
function systemShape(system: ReceivedSystemAttributes): number {
  let shape = 0;
  if (system.SenderId !== undefined) shape |= 1 << 0;
  if (system.SentTimestamp !== undefined) shape |= 1 << 1;
  if (system.ApproximateReceiveCount !== undefined) shape |= 1 << 2;
  if (system.ApproximateFirstReceiveTimestamp !== undefined) shape |= 1 << 3;
  if (system.SequenceNumber !== undefined) shape |= 1 << 4;
  if (system.MessageDeduplicationId !== undefined) shape |= 1 << 5;
  if (system.MessageGroupId !== undefined) shape |= 1 << 6;
  if (system.AWSTraceHeader !== undefined) shape |= 1 << 7;
  if (system.DeadLetterQueueSourceArn !== undefined) shape |= 1 << 8;
  let keys = 0;
  for (const _key in system) keys++;
  let set = 0;
  for (let bits = shape; bits !== 0; bits &= bits - 1) set++;
  return keys === set ? shape : -1;
}

function writeSystemAttributes(w: Writer, records: Records | undefined, system: ReceivedSystemAttributes): void {
  const shape = systemShape(system);
  if (shape >= 0 && records?.begin(w, shape)) {
    if (shape & (1 << 0)) w.string(system.SenderId!);
    if (shape & (1 << 1)) w.string(system.SentTimestamp);
    if (shape & (1 << 2)) w.string(system.ApproximateReceiveCount);
    if (shape & (1 << 3)) w.string(system.ApproximateFirstReceiveTimestamp);
    if (shape & (1 << 4)) w.string(system.SequenceNumber!);
    if (shape & (1 << 5)) w.string(system.MessageDeduplicationId!);
    if (shape & (1 << 6)) w.string(system.MessageGroupId!);
    if (shape & (1 << 7)) w.string(system.AWSTraceHeader!);
    if (shape & (1 << 8)) w.string(system.DeadLetterQueueSourceArn!);
    return;
  }
  let count = 0;
  for (const key in system) if (system[key as SystemKey] !== undefined) count++;
  w.mapHeader(count);
  for (const key in system) {
    const value = system[key as SystemKey];
    if (value === undefined) continue;
    w.bytes(systemKey(key));
    w.string(value);
  }
}

/**
 * `{ messages }` of a ReceiveMessage answer. With `records`, in msgpackr's records (for callers
 * that read them: decoding is more than twice as fast as maps), otherwise in plain msgpack maps.
 * Fields that are undefined are left out.
 */
export function encodeReceiveAnswer(messages: readonly NativeReceivedMessage[], records: boolean): Buffer {
  const attributes = messages.map((m) => (m.attributes === undefined ? undefined : plain.pack(m.attributes)));
  // Each message brings at most two shapes (its own and its system attributes').
  let bound = 16 + (records ? Math.min(LAST_RECORD_ID - FIRST_RECORD_ID + 1, 2 * messages.length) * DEFINITION_BOUND : 0);
  for (let i = 0; i < messages.length; i++) bound += messageBound(messages[i]!, attributes[i]) + (records ? 0 : 200);
  // Written in place and handed out as a view: pages past the end are never touched, so the
  // generous bound costs address space, not memory (a copy to the exact size cost more).
  const w = new Writer(Buffer.allocUnsafe(bound));
  const shapes = records ? new Records() : undefined;
  w.mapHeader(1);
  w.bytes(K_MESSAGES);
  w.arrayHeader(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const attrs = attributes[i];
    const hasMd5OfAttributes = m.md5OfMessageAttributes !== undefined;
    const shape = MESSAGE_SHAPE | (attrs ? MESSAGE_HAS_ATTRIBUTES : 0) | (hasMd5OfAttributes ? MESSAGE_HAS_MD5_OF_ATTRIBUTES : 0);
    const asRecord = shapes?.begin(w, shape) ?? false;
    if (!asRecord) w.mapHeader(5 + (attrs ? 1 : 0) + (hasMd5OfAttributes ? 1 : 0));
    if (!asRecord) w.bytes(K_MESSAGE_ID);
    w.string(m.messageId);
    if (!asRecord) w.bytes(K_RECEIPT_HANDLE);
    w.string(m.receiptHandle);
    if (!asRecord) w.bytes(K_BODY);
    w.string(m.body);
    if (!asRecord) w.bytes(K_MD5_OF_BODY);
    w.string(m.md5OfBody);
    if (attrs) {
      if (!asRecord) w.bytes(K_ATTRIBUTES);
      w.bytes(attrs);
    }
    if (hasMd5OfAttributes) {
      if (!asRecord) w.bytes(K_MD5_OF_ATTRIBUTES);
      w.string(m.md5OfMessageAttributes!);
    }
    if (!asRecord) w.bytes(K_SYSTEM_ATTRIBUTES);
    writeSystemAttributes(w, shapes, m.systemAttributes);
  }
  return w.buf.subarray(0, w.pos);
}
