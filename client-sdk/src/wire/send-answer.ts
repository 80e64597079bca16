/**
 * A writer for SendMessageBatch's answer, `{ successful, failed }`, which a leader writes for
 * every message sent and a frontend again: a few short strings per message, where msgpackr's
 * generic encoder spends its time looking properties up on objects of varying shape. Fields that
 * are undefined are left out; anything else than the known fields (or a field of another type)
 * sends the whole answer to msgpackr.
 */
import { Packr } from 'msgpackr';
import { encodeNative, encodeNativeInternal, type NativeBatchFailure, type NativeSendSuccess } from './native.ts';
import { FIRST_RECORD_ID, LAST_RECORD_ID, MsgpackWriter, Records } from './msgpack-writer.ts';

const plain = new Packr({ useRecords: false, mapsAsObjects: true });
const keyBytes = (key: string): Uint8Array => Uint8Array.from(plain.pack(key));

const K_SUCCESSFUL = keyBytes('successful');
const K_FAILED = keyBytes('failed');
const K_ID = keyBytes('id');
const K_MESSAGE_ID = keyBytes('messageId');
const K_MD5_OF_BODY = keyBytes('md5OfBody');
const K_MD5_OF_ATTRIBUTES = keyBytes('md5OfAttributes');
const K_SEQUENCE_NUMBER = keyBytes('sequenceNumber');
const K_DUPLICATE = keyBytes('duplicate');

const HAS_MD5_OF_ATTRIBUTES = 1;
const HAS_SEQUENCE_NUMBER = 2;
const HAS_DUPLICATE = 4;

function keysOf(shape: number): Uint8Array[] {
  const keys = [K_ID, K_MESSAGE_ID, K_MD5_OF_BODY];
  if (shape & HAS_MD5_OF_ATTRIBUTES) keys.push(K_MD5_OF_ATTRIBUTES);
  if (shape & HAS_SEQUENCE_NUMBER) keys.push(K_SEQUENCE_NUMBER);
  if (shape & HAS_DUPLICATE) keys.push(K_DUPLICATE);
  return keys;
}
/** Bytes a structure definition can take: fixext header, array header and every key. */
const DEFINITION_BOUND = 6 + keysOf(7).reduce((n, k) => n + k.length, 0);
/** Largest UTF-8 size of a string of `length` UTF-16 units, plus its longest header. */
const stringBound = (length: number): number => length * 3 + 5;

/** The shape of a success entry: which optional fields it has; -1 for a field of another type or a field not known here. */
function shapeOf(s: NativeSendSuccess): number {
  if (typeof s.id !== 'string' || typeof s.messageId !== 'string' || typeof s.md5OfBody !== 'string') return -1;
  let shape = 0;
  let fields = 3;
  if (s.md5OfAttributes !== undefined) {
    if (typeof s.md5OfAttributes !== 'string') return -1;
    shape |= HAS_MD5_OF_ATTRIBUTES;
    fields++;
  }
  if (s.sequenceNumber !== undefined) {
    if (typeof s.sequenceNumber !== 'string') return -1;
    shape |= HAS_SEQUENCE_NUMBER;
    fields++;
  }
  if (s.duplicate !== undefined) {
    if (typeof s.duplicate !== 'boolean') return -1;
    shape |= HAS_DUPLICATE;
    fields++;
  }
  let defined = 0;
  for (const key in s) if (s[key as keyof NativeSendSuccess] !== undefined) defined++;
  return defined === fields ? shape : -1;
}

/**
 * SendMessageBatch's answer. With `records`, in msgpackr's records (for callers that read them),
 * otherwise in plain msgpack maps; failures (rare) are written by msgpackr, in plain maps.
 */
export function encodeSendAnswer(answer: { successful: readonly NativeSendSuccess[]; failed: readonly NativeBatchFailure[] }, records: boolean): Buffer {
  const { successful, failed } = answer;
  const generic = (): Buffer => (records ? encodeNativeInternal(answer) : encodeNative(answer));
  if (!Array.isArray(successful) || !Array.isArray(failed)) return generic();
  const shapes = new Array<number>(successful.length);
  let bound = 32 + (records ? Math.min(LAST_RECORD_ID - FIRST_RECORD_ID + 1, 8) * DEFINITION_BOUND : 0);
  for (let i = 0; i < successful.length; i++) {
    const s = successful[i]!;
    const shape = shapeOf(s);
    if (shape < 0) return generic();
    shapes[i] = shape;
    bound += 16 + stringBound(s.id.length) + stringBound(s.messageId.length) + stringBound(s.md5OfBody.length) + (records ? 0 : 64);
    if (s.md5OfAttributes !== undefined) bound += stringBound(s.md5OfAttributes.length);
    if (s.sequenceNumber !== undefined) bound += stringBound(s.sequenceNumber.length);
  }
  const failures = failed.length === 0 ? undefined : plain.pack(failed);
  if (failures) bound += failures.length;
  // Written in place and handed out as a view (see encodeReceiveAnswer).
  const w = new MsgpackWriter(Buffer.allocUnsafe(bound));
  const definitions = records ? new Records(keysOf) : undefined;
  w.mapHeader(2);
  w.bytes(K_SUCCESSFUL);
  w.arrayHeader(successful.length);
  for (let i = 0; i < successful.length; i++) {
    const s = successful[i]!;
    const shape = shapes[i]!;
    const asRecord = definitions?.begin(w, shape) ?? false;
    if (!asRecord) w.mapHeader(3 + (shape & HAS_MD5_OF_ATTRIBUTES ? 1 : 0) + (shape & HAS_SEQUENCE_NUMBER ? 1 : 0) + (shape & HAS_DUPLICATE ? 1 : 0));
    if (!asRecord) w.bytes(K_ID);
    w.string(s.id);
    if (!asRecord) w.bytes(K_MESSAGE_ID);
    w.string(s.messageId);
    if (!asRecord) w.bytes(K_MD5_OF_BODY);
    w.string(s.md5OfBody);
    if (shape & HAS_MD5_OF_ATTRIBUTES) {
      if (!asRecord) w.bytes(K_MD5_OF_ATTRIBUTES);
      w.string(s.md5OfAttributes!);
    }
    if (shape & HAS_SEQUENCE_NUMBER) {
      if (!asRecord) w.bytes(K_SEQUENCE_NUMBER);
      w.string(s.sequenceNumber!);
    }
    if (shape & HAS_DUPLICATE) {
      if (!asRecord) w.bytes(K_DUPLICATE);
      w.buf[w.pos++] = s.duplicate ? 0xc3 : 0xc2;
    }
  }
  w.bytes(K_FAILED);
  if (failures) w.bytes(failures);
  else w.arrayHeader(0);
  return w.buf.subarray(0, w.pos);
}
