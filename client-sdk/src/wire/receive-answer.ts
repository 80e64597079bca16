/**
 * A writer for the one large answer of the native API, ReceiveMessage's `{ messages }`: plain
 * msgpack (maps with string keys), so any msgpack reader, and decodeNative, reads it. msgpackr's
 * generic encoder spends most of its time on property lookups over objects of varying shape;
 * this one knows the shape, and a drain encodes every message at the backend and again at the
 * frontend.
 */
import { Packr } from 'msgpackr';
import { FIRST_RECORD_ID, LAST_RECORD_ID, MsgpackWriter, Records } from './msgpack-writer.ts';
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

/**
 * A message to answer with. A backend may hand over the body and attributes as their send record
 * encodes them (msgpack str and plain map, `body` then empty and `attributes` absent): they are
 * copied as they are, never decoded and encoded again.
 */
export type AnswerMessage = NativeReceivedMessage & { encodedBody?: Uint8Array; encodedAttributes?: Uint8Array };

/** An upper bound of one message's encoded size (structure definitions are bounded apart). */
function messageBound(m: AnswerMessage, attributes: Uint8Array | undefined): number {
  const body = m.encodedBody !== undefined ? m.encodedBody.length : stringBound(m.body.length);
  let size = 16 + stringBound(m.messageId.length) + stringBound(m.receiptHandle.length) + body + stringBound(m.md5OfBody.length);
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

function writeSystemAttributes(w: MsgpackWriter, records: Records | undefined, system: ReceivedSystemAttributes): void {
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
export function encodeReceiveAnswer(messages: readonly AnswerMessage[], records: boolean): Buffer {
  const attributes = messages.map((m) => m.encodedAttributes ?? (m.attributes === undefined ? undefined : plain.pack(m.attributes)));
  // Each message brings at most two shapes (its own and its system attributes').
  let bound = 16 + (records ? Math.min(LAST_RECORD_ID - FIRST_RECORD_ID + 1, 2 * messages.length) * DEFINITION_BOUND : 0);
  for (let i = 0; i < messages.length; i++) bound += messageBound(messages[i]!, attributes[i]) + (records ? 0 : 200);
  // Written in place and handed out as a view: pages past the end are never touched, so the
  // generous bound costs address space, not memory (a copy to the exact size cost more).
  const w = new MsgpackWriter(Buffer.allocUnsafe(bound));
  const shapes = records ? new Records(keysOf) : undefined;
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
    if (m.encodedBody !== undefined) w.bytes(m.encodedBody);
    else w.string(m.body);
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
