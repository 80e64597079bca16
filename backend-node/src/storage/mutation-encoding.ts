import { pack } from 'msgpackr';
import type { StoreMutation } from '../queue/types.ts';
import { encodeMeta } from './meta-encoding.ts';
import { QUEUE_ID_FLOOR_KEY, bodyKey, dedupKey, metaKey, queueKey } from './keys.ts';

/**
 * Folds a group commit's mutations into one write set: the last write to a key wins, so a meta
 * rewritten by five receives in one batch is stored once. Values are encoded now, when the batch
 * is taken, and so hold the state as of the batch's end.
 */
export function toWriteSet(mutations: readonly StoreMutation[]): Map<string, Buffer | null> {
  const set = new Map<string, Buffer | null>();
  for (const m of mutations) {
    switch (m.op) {
      case 'putQueue': set.set(queueKey(m.queue.queueId), pack(m.queue)); break;
      case 'delQueue': set.set(queueKey(m.queueId), null); break;
      case 'putQueueIdFloor': set.set(QUEUE_ID_FLOOR_KEY, pack(m.nextQueueId)); break;
      case 'putMeta': set.set(metaKey(m.queueId, m.meta.seq), encodeMeta(m.meta)); break;
      case 'delMeta': set.set(metaKey(m.queueId, m.seq), null); break;
      case 'putBody': set.set(bodyKey(m.messageId), pack(m.body)); break;
      case 'delBody': set.set(bodyKey(m.messageId), null); break;
      case 'putDedup': set.set(dedupKey(m.queueId, m.key), pack(m.entry)); break;
      case 'delDedup': set.set(dedupKey(m.queueId, m.key), null); break;
    }
  }
  return set;
}
