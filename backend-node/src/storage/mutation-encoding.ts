import { pack } from 'msgpackr';
import type { StoreMutation } from '../queue/types.ts';
import { encodeMeta } from './meta-encoding.ts';
import { QUEUE_ID_FLOOR_KEY, bodyKey, dedupKey, metaKey, queueKey } from './keys.ts';

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

/** A key's new value: bytes, null to delete it, or a body delete that depends on trimming. */
export type WriteValue = Buffer | null | LoggedBodyDelete;

/**
 * Folds a group commit's mutations into one write set: the last write to a key wins, so a meta
 * rewritten by five receives in one batch is stored once. Values are encoded now, when the batch
 * is taken, and so hold the state as of the batch's end.
 */
export function toWriteSet(mutations: readonly StoreMutation[]): Map<string, WriteValue> {
  const set = new Map<string, WriteValue>();
  for (const m of mutations) {
    switch (m.op) {
      case 'putQueue': set.set(queueKey(m.queue.queueId), pack(m.queue)); break;
      case 'delQueue': set.set(queueKey(m.queueId), null); break;
      case 'putQueueIdFloor': set.set(QUEUE_ID_FLOOR_KEY, pack(m.nextQueueId)); break;
      case 'putMeta': set.set(metaKey(m.queueId, m.meta.seq), encodeMeta(m.meta)); break;
      case 'delMeta': set.set(metaKey(m.queueId, m.seq), null); break;
      case 'putBody': set.set(bodyKey(m.messageId), pack(m.body)); break;
      case 'delBody': set.set(bodyKey(m.messageId), m.logRef === undefined ? null : new LoggedBodyDelete(m.logRef)); break;
      case 'putDedup': set.set(dedupKey(m.queueId, m.key), pack(m.entry)); break;
      case 'delDedup': set.set(dedupKey(m.queueId, m.key), null); break;
    }
  }
  return set;
}

