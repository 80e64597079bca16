import type { MessageMeta } from '../queue/types.ts';
import { encodeMeta } from './meta-encoding.ts';

/**
 * Deletes a message's body key only if the log record that holds the body was trimmed by the time
 * the delete is written: a body is copied out to a key of its own only when its record is trimmed
 * while the message lives, so before that there is no key, and a tombstone would be dead weight
 * for every later compaction. Trims and state writes are serialized on each node, so the log
 * start written with the delete tells.
 */
export class LoggedBodyDelete {
  constructor(readonly logRef: number) {}
}

/**
 * A message meta's put, encoded only when its batch is written: a message received and then
 * deleted before that (most are, under load) has its meta's put folded away unencoded. By default
 * it holds a copy of the meta as of the mutations it came from (the fields are all primitives), so
 * later changes to the live meta do not reach it; `copy` false keeps the object given, for a meta
 * that nothing changes before the write (a private copy, or a live meta of a set written at the
 * state it was folded to).
 */
export class MetaPut {
  readonly meta: Readonly<MessageMeta>;
  constructor(meta: MessageMeta, copy = true) {
    this.meta = copy ? { ...meta } : meta;
  }

  encode(): Buffer {
    return encodeMeta(this.meta);
  }
}

/** A value to put: bytes, or a meta encoded when written. */
export type PutValue = Buffer | MetaPut;

/**
 * A put of a key that no earlier batch can have written: a new message's meta (a queue's
 * sequence numbers are never reused, nor are queue ids). Deleted again before its batch is
 * written, it leaves nothing to write, not even a tombstone (see foldWrite).
 */
export class NewKeyPut {
  constructor(readonly value: PutValue) {}
}

/** A key's new value: a put (new or not), null to delete it, or a body delete that depends on trimming. */
export type WriteValue = PutValue | NewKeyPut | null | LoggedBodyDelete;

const isPut = (value: WriteValue): value is PutValue => Buffer.isBuffer(value) || value instanceof MetaPut;
const bytesOf = (value: PutValue): Buffer => (value instanceof MetaPut ? value.encode() : value);

/**
 * Hands one write to `put` or `del`. `logStart` is the log start written in the same batch, which
 * decides body deletes; undefined where there is none (every delete then deletes).
 */
export function writeOne(key: string, value: WriteValue, logStart: number | undefined, put: (key: string, bytes: Buffer) => void, del: (key: string) => void): void {
  if (value === null) del(key);
  else if (value instanceof LoggedBodyDelete) {
    if (logStart === undefined || value.logRef < logStart) del(key);
  } else put(key, bytesOf(value instanceof NewKeyPut ? value.value : value));
}

/** What foldWrite folds into: a Map, or a SeqMap for metas. */
export interface WriteTarget<K> {
  get(key: K): WriteValue | undefined;
  set(key: K, value: WriteValue): unknown;
  delete(key: K): boolean;
}

/**
 * Sets `key` in a write set that has not been written yet, the later write winning. A key put
 * as new stays new through later puts, and a delete of it drops the key from the set: a message
 * sent, received and deleted before its state is written costs the disk nothing.
 */
export function foldWrite<K>(set: WriteTarget<K>, key: K, value: WriteValue): void {
  const earlier = set.get(key);
  // A delete that depends on trimming adds nothing to a delete already there.
  if (earlier === null && value instanceof LoggedBodyDelete) return;
  if (earlier instanceof NewKeyPut) {
    if (value === null) {
      set.delete(key);
      return;
    }
    if (isPut(value)) {
      set.set(key, new NewKeyPut(value));
      return;
    }
  }
  set.set(key, value);
}
