/**
 * A writer for the batch answers, `{ successful, failed }` of SendMessageBatch,
 * DeleteMessageBatch and ChangeMessageVisibilityBatch, which a leader writes for every message
 * sent, deleted or changed and a frontend again: a few short strings per message, where msgpackr's
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

/** The actions whose answers encodeBatchAnswer writes. */
export const isBatchAction = (action: string): action is 'SendMessageBatch' | 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch' =>
  action === 'SendMessageBatch' || action === 'DeleteMessageBatch' || action === 'ChangeMessageVisibilityBatch';

/** A success entry: its id, and a send's fields. */
export type BatchSuccess = { id: string } & Partial<Omit<NativeSendSuccess, 'id'>>;

const HAS_MD5_OF_ATTRIBUTES = 1;
const HAS_SEQUENCE_NUMBER = 2;
const HAS_DUPLICATE = 4;
const HAS_MESSAGE_ID = 8;
const HAS_MD5_OF_BODY = 16;
const SHAPES = 32;

function keysOf(shape: number): Uint8Array[] {
  const keys = [K_ID];
  if (shape & HAS_MESSAGE_ID) keys.push(K_MESSAGE_ID);
  if (shape & HAS_MD5_OF_BODY) keys.push(K_MD5_OF_BODY);
  if (shape & HAS_MD5_OF_ATTRIBUTES) keys.push(K_MD5_OF_ATTRIBUTES);
  if (shape & HAS_SEQUENCE_NUMBER) keys.push(K_SEQUENCE_NUMBER);
  if (shape & HAS_DUPLICATE) keys.push(K_DUPLICATE);
  return keys;
}
/** How many optional fields a shape has. */
function bitCount(shape: number): number {
  let n = 0;
  for (let bits = shape; bits !== 0; bits &= bits - 1) n++;
  return n;
}
/** Bytes a structure definition can take: fixext header, array header and every key. */
const DEFINITION_BOUND = 6 + keysOf(SHAPES - 1).reduce((n, k) => n + k.length, 0);
/** Largest UTF-8 size of a string of `length` UTF-16 units, plus its longest header. */
const stringBound = (length: number): number => length * 3 + 5;
const optionalBound = (value: string | undefined): number => (value === undefined ? 0 : stringBound(value.length));

/** `flag` if an optional field is there with the type given, 0 if it is not there, -1 if it is of another type. */
function field(value: unknown, type: 'string' | 'boolean', flag: number): number {
  if (value === undefined) return 0;
  return typeof value === type ? flag : -1;
}

/** The shape of a success entry: which optional fields it has; -1 for a field of another type or a field not known here. */
function shapeOf(s: BatchSuccess): number {
  if (typeof s.id !== 'string') return -1;
  // -1 (every bit set) from any field stays -1 through the ors.
  const shape =
    field(s.messageId, 'string', HAS_MESSAGE_ID) | field(s.md5OfBody, 'string', HAS_MD5_OF_BODY) | field(s.md5OfAttributes, 'string', HAS_MD5_OF_ATTRIBUTES) |
    field(s.sequenceNumber, 'string', HAS_SEQUENCE_NUMBER) | field(s.duplicate, 'boolean', HAS_DUPLICATE);
  if (shape < 0) return -1;
  let defined = 0;
  for (const key in s) if (s[key as keyof BatchSuccess] !== undefined) defined++;
  return defined === 1 + bitCount(shape) ? shape : -1;
}

/** A string field, if there (as a record's value, or with its key in a map). */
function optionalString(w: MsgpackWriter, asRecord: boolean, key: Uint8Array, value: string | undefined): void {
  if (value === undefined) return;
  if (!asRecord) w.bytes(key);
  w.string(value);
}

/**
 * A batch action's answer. With `records`, in msgpackr's records (for callers that read them),
 * otherwise in plain msgpack maps; failures (rare) are written by msgpackr, in plain maps.
 */
export function encodeBatchAnswer(answer: { successful: readonly BatchSuccess[]; failed: readonly NativeBatchFailure[] }, records: boolean): Buffer {
  const { successful, failed } = answer;
  const generic = (): Buffer => (records ? encodeNativeInternal(answer) : encodeNative(answer));
  if (!Array.isArray(successful) || !Array.isArray(failed)) return generic();
  const shapes = new Array<number>(successful.length);
  let bound = 32 + (records ? Math.min(LAST_RECORD_ID - FIRST_RECORD_ID + 1, SHAPES) * DEFINITION_BOUND : 0);
  for (let i = 0; i < successful.length; i++) {
    const s = successful[i]!;
    const shape = shapeOf(s);
    if (shape < 0) return generic();
    shapes[i] = shape;
    bound += 16 + stringBound(s.id.length) + (records ? 0 : 64);
    bound += optionalBound(s.messageId) + optionalBound(s.md5OfBody) + optionalBound(s.md5OfAttributes) + optionalBound(s.sequenceNumber);
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
    if (!asRecord) w.mapHeader(1 + bitCount(shape));
    optionalString(w, asRecord, K_ID, s.id);
    optionalString(w, asRecord, K_MESSAGE_ID, s.messageId);
    optionalString(w, asRecord, K_MD5_OF_BODY, s.md5OfBody);
    optionalString(w, asRecord, K_MD5_OF_ATTRIBUTES, s.md5OfAttributes);
    optionalString(w, asRecord, K_SEQUENCE_NUMBER, s.sequenceNumber);
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
