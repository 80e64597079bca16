import { pack } from 'msgpackr';
import type { StoreMutation } from '../queue/types.ts';
import { LoggedBodyDelete, MetaPut, NewKeyPut, foldWrite, writeOne, type WriteValue } from './mutation-encoding.ts';
import { QUEUE_ID_FLOOR_KEY, bodyKey, dedupKey, metaKey, parseMetaKey, queueKey } from './keys.ts';

/**
 * State writes not stored yet, folded by key (foldWrite: the last write to a key wins). Message
 * metas, most of the writes, are kept by queue id and sequence number: a Map hashes and compares
 * numbers in place, where a key string would be built, hashed and compared at every write (that
 * cost a follower an eighth of its CPU). Their key strings are built only when the set is written.
 */
export class WriteSet {
  /** queue id → sequence → the meta's write. */
  private readonly metas = new Map<number, Map<number, WriteValue>>();
  /** Every other key (queues, bodies, dedup entries). */
  private readonly keyed = new Map<string, WriteValue>();

  /** How many keys it writes. */
  get size(): number {
    let n = this.keyed.size;
    for (const queue of this.metas.values()) n += queue.size;
    return n;
  }

  /** Folds a write of `key`, which must not be a meta's (see foldMeta). */
  fold(key: string, value: WriteValue): this {
    foldWrite(this.keyed, key, value);
    return this;
  }

  /** Folds a write of the meta of message `seq` of queue `queueId`. */
  foldMeta(queueId: number, seq: number, value: WriteValue): this {
    let queue = this.metas.get(queueId);
    if (!queue) this.metas.set(queueId, (queue = new Map()));
    foldWrite(queue, seq, value);
    return this;
  }

  /** The write waiting for `key`, a meta's key included. */
  get(key: string): WriteValue | undefined {
    const meta = parseMetaKey(key);
    return meta ? this.metas.get(meta.queueId)?.get(meta.seq) : this.keyed.get(key);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /**
   * Folds state mutations in, as if they came after what it holds. Values hold the state as of
   * now: encoded now, or (metas) copied now and encoded when written (MetaPut). `copyMetas` false
   * takes the metas as they are: for metas that no later change reaches before the set is written.
   */
  foldMutations(mutations: readonly StoreMutation[], copyMetas = true): this {
    for (const m of mutations) {
      switch (m.op) {
        case 'putQueue': this.fold(queueKey(m.queue.queueId), pack(m.queue)); break;
        case 'delQueue': this.fold(queueKey(m.queueId), null); break;
        case 'putQueueIdFloor': this.fold(QUEUE_ID_FLOOR_KEY, pack(m.nextQueueId)); break;
        case 'putMeta': {
          const put = new MetaPut(m.meta, copyMetas);
          this.foldMeta(m.queueId, m.meta.seq, m.created ? new NewKeyPut(put) : put);
          break;
        }
        case 'delMeta': this.foldMeta(m.queueId, m.seq, null); break;
        case 'putBody': this.fold(bodyKey(m.messageId), pack(m.body)); break;
        case 'delBody': this.fold(bodyKey(m.messageId), m.logRef === undefined ? null : new LoggedBodyDelete(m.logRef)); break;
        case 'putDedup': this.fold(dedupKey(m.queueId, m.key), pack(m.entry)); break;
        case 'delDedup': this.fold(dedupKey(m.queueId, m.key), null); break;
      }
    }
    return this;
  }

  /** Folds a later set in (`later` is left as it was). */
  foldSet(later: WriteSet): this {
    for (const [key, value] of later.keyed) this.fold(key, value);
    for (const [queueId, queue] of later.metas) for (const [seq, value] of queue) this.foldMeta(queueId, seq, value);
    return this;
  }

  /**
   * Hands each write to `put` or `del`. `logStart` is the log start written in the same batch,
   * which decides body deletes; undefined where there is none (every delete then deletes).
   */
  forEach(logStart: number | undefined, put: (key: string, bytes: Buffer) => void, del: (key: string) => void): void {
    for (const [key, value] of this.keyed) writeOne(key, value, logStart, put, del);
    for (const [queueId, queue] of this.metas) for (const [seq, value] of queue) writeOne(metaKey(queueId, seq), value, logStart, put, del);
  }
}

/** One group commit's mutations as a write set (WriteSet.foldMutations). */
export function toWriteSet(mutations: readonly StoreMutation[]): WriteSet {
  return new WriteSet().foldMutations(mutations);
}
