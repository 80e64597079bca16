import { pack } from 'msgpackr';
import type { StoreMutation } from '../queue/types.ts';
import { LoggedBodyDelete, MetaPut, NewKeyPut, foldWrite, writeOne, type WriteValue } from './mutation-encoding.ts';
import { BODY_PREFIX, QUEUE_ID_FLOOR_KEY, bodyKey, dedupKey, isBodyKey, metaKey, parseMetaKey, queueKey } from './keys.ts';
import { SeqMap } from './seq-map.ts';

/**
 * State writes not stored yet, folded by key (foldWrite: the last write to a key wins). Message
 * metas, most of the writes, are kept by queue id and sequence number (a SeqMap), where a key
 * string would be built, hashed and compared at every write (that cost a follower an eighth of
 * its CPU). Their key strings are built only when the set is written.
 */
export class WriteSet {
  /** queue id → sequence → the meta's write. */
  private readonly metas = new Map<number, SeqMap<WriteValue>>();
  /** The queue of the last meta folded: writes come in runs of one queue. */
  private lastQueueId = -1;
  private lastQueue: SeqMap<WriteValue> | undefined;
  /** Every other key (queues, bodies, dedup entries). */
  private readonly keyed = new Map<string, WriteValue>();
  /**
   * Body deletes that wait on trimming (LoggedBodyDelete), in order, while no other write of a
   * body key is in the set. Every message deleted makes one, and nearly all are dropped unwritten
   * (the body is still in its log record), so their key strings are built, and hashed, only for
   * those written. The first other write of a body key moves them into `keyed`, in order, and
   * later ones go there too.
   */
  private bodyDeletes: Array<{ id: string; del: LoggedBodyDelete }> = [];
  private bodyKeyed = false;

  /** How many keys it writes (a body deleted twice counts twice). */
  get size(): number {
    let n = this.keyed.size + this.bodyDeletes.length;
    for (const queue of this.metas.values()) n += queue.size;
    return n;
  }

  /** Folds a write of `key`, which must not be a meta's (see foldMeta). */
  fold(key: string, value: WriteValue): this {
    if (value instanceof LoggedBodyDelete && isBodyKey(key)) return this.foldBodyDelete(key.slice(BODY_PREFIX.length), value);
    if (!this.bodyKeyed && isBodyKey(key)) {
      this.bodyKeyed = true;
      const pending = this.bodyDeletes;
      this.bodyDeletes = [];
      for (const { id, del } of pending) foldWrite(this.keyed, bodyKey(id), del);
    }
    foldWrite(this.keyed, key, value);
    return this;
  }

  /** Folds a body delete that waits on trimming, of message `id`'s body key. */
  foldBodyDelete(id: string, del: LoggedBodyDelete): this {
    if (this.bodyKeyed) foldWrite(this.keyed, bodyKey(id), del);
    else this.bodyDeletes.push({ id, del });
    return this;
  }

  /** Folds a write of the meta of message `seq` of queue `queueId`. */
  foldMeta(queueId: number, seq: number, value: WriteValue): this {
    let queue = queueId === this.lastQueueId ? this.lastQueue : this.metas.get(queueId);
    if (!queue) this.metas.set(queueId, (queue = new SeqMap()));
    this.lastQueueId = queueId;
    this.lastQueue = queue;
    foldWrite(queue, seq, value);
    return this;
  }

  /** The write waiting for `key`, a meta's key included. */
  get(key: string): WriteValue | undefined {
    const meta = parseMetaKey(key);
    if (meta) return this.metas.get(meta.queueId)?.get(meta.seq);
    if (this.bodyDeletes.length > 0 && isBodyKey(key)) {
      const id = key.slice(BODY_PREFIX.length);
      return this.bodyDeletes.findLast((d) => d.id === id)?.del;
    }
    return this.keyed.get(key);
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
        case 'delBody':
          if (m.logRef === undefined) this.fold(bodyKey(m.messageId), null);
          else this.foldBodyDelete(m.messageId, new LoggedBodyDelete(m.logRef));
          break;
        case 'putDedup': this.fold(dedupKey(m.queueId, m.key), pack(m.entry)); break;
        case 'delDedup': this.fold(dedupKey(m.queueId, m.key), null); break;
      }
    }
    return this;
  }

  /** Folds a later set in (`later` is left as it was). */
  foldSet(later: WriteSet): this {
    // A set with waiting body deletes has no other body key: the two kinds never cross here.
    for (const [key, value] of later.keyed) this.fold(key, value);
    for (const { id, del } of later.bodyDeletes) this.foldBodyDelete(id, del);
    for (const [queueId, queue] of later.metas) queue.forEach((seq, value) => this.foldMeta(queueId, seq, value));
    return this;
  }

  /**
   * Hands each write to `put` or `del`. `logStart` is the log start written in the same batch,
   * which decides body deletes; undefined where there is none (every delete then deletes).
   */
  forEach(logStart: number | undefined, put: (key: string, bytes: Buffer) => void, del: (key: string) => void): void {
    for (const [key, value] of this.keyed) writeOne(key, value, logStart, put, del);
    for (const [queueId, queue] of this.metas) queue.forEach((seq, value) => writeOne(metaKey(queueId, seq), value, logStart, put, del));
    for (const { id, del: body } of this.bodyDeletes) if (logStart === undefined || body.logRef < logStart) del(bodyKey(id));
  }
}

/** One group commit's mutations as a write set (WriteSet.foldMutations). */
export function toWriteSet(mutations: readonly StoreMutation[]): WriteSet {
  return new WriteSet().foldMutations(mutations);
}
