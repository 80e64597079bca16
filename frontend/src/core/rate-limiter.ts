/**
 * Per access key and per queue rate limits: one token bucket per key and per queue, in tables of
 * bounded size (least recently used entries are dropped first, so a flood of made-up keys cannot
 * grow memory; a dropped bucket comes back full, which only ever favours the caller). A request
 * is checked against its key first: a key over its limit is refused without spending its queue's
 * tokens, so one flooding caller cannot use up a queue that others share beyond its own rate.
 * Pure: time comes from the caller.
 */
import { LRUCache } from 'lru-cache';
import { TokenBucket, type TokenBucketConfig } from './token-bucket.ts';

export interface RateLimiterConfig {
  /** Per access key; undefined = unlimited. */
  readonly perKey?: TokenBucketConfig;
  /** Per queue, over every caller; undefined = unlimited. */
  readonly perQueue?: TokenBucketConfig;
  /** Most buckets kept per table. */
  readonly maxTracked: number;
}

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly scope: 'key' | 'queue'; readonly retryAfterMs: number };

class BucketTable {
  private readonly buckets: LRUCache<string, TokenBucket>;

  constructor(private readonly config: TokenBucketConfig, max: number) {
    this.buckets = new LRUCache({ max });
  }

  bucket(key: string, nowMs: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.config, nowMs);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  get size(): number {
    return this.buckets.size;
  }
}

const ALLOWED: RateDecision = Object.freeze({ ok: true });

export class RateLimiter {
  private readonly keys: BucketTable | undefined;
  private readonly queues: BucketTable | undefined;

  constructor(config: RateLimiterConfig) {
    if (!(config.maxTracked >= 1)) throw new RangeError(`maxTracked must be at least 1 (got ${config.maxTracked})`);
    this.keys = config.perKey ? new BucketTable(config.perKey, config.maxTracked) : undefined;
    this.queues = config.perQueue ? new BucketTable(config.perQueue, config.maxTracked) : undefined;
  }

  /** Takes one token from the caller's bucket and the queue's, or neither. */
  take(accessKey: string | undefined, queue: string | undefined, nowMs: number): RateDecision {
    const keyBucket = this.keys && accessKey !== undefined ? this.keys.bucket(accessKey, nowMs) : undefined;
    const queueBucket = this.queues && queue !== undefined ? this.queues.bucket(queue, nowMs) : undefined;
    const key = keyBucket?.peek(nowMs);
    if (key && !key.ok) return { ok: false, scope: 'key', retryAfterMs: key.retryAfterMs };
    const q = queueBucket?.peek(nowMs);
    if (q && !q.ok) return { ok: false, scope: 'queue', retryAfterMs: q.retryAfterMs };
    keyBucket?.take(nowMs);
    queueBucket?.take(nowMs);
    return ALLOWED;
  }

  /** How many buckets each table holds (bounded by maxTracked). */
  sizes(): { keys: number; queues: number } {
    return { keys: this.keys?.size ?? 0, queues: this.queues?.size ?? 0 };
  }
}
