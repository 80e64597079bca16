/**
 * The frontend's short memory of recent FIFO sends: (queue, deduplication key) → the answer the
 * backend gave, so a retried send is answered without a backend round trip. The backend's
 * replicated dedup window stays the authority; entries here live for less than that window and
 * only for sends that were really enqueued (a duplicate's original may be near its window's end).
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { LIMITS, type QueueConfig } from '@conveyor/client-sdk';

export interface DedupAnswer {
  messageId: string;
  sequenceNumber?: string;
}

/** Well inside SQS's 5-minute window, so an entry never outlives the backend's memory. */
const TTL_MS = LIMITS.dedupWindowMs - 60_000;

export class DedupCache {
  private readonly entries: LRUCache<string, DedupAnswer>;

  constructor(maxEntries = 100_000) {
    this.entries = new LRUCache({ max: maxEntries, ttl: TTL_MS });
  }

  /** The key a FIFO send is deduplicated by, as the backend computes it; undefined for standard queues. */
  static key(queue: string, config: QueueConfig, entry: { body: string; groupId?: string; dedupId?: string }): string | undefined {
    if (!config.fifo) return undefined;
    const id = entry.dedupId ?? (config.contentBasedDeduplication ? createHash('sha256').update(entry.body, 'utf8').digest('hex') : undefined);
    if (id === undefined) return undefined;
    const scoped = config.deduplicationScope === 'messageGroup' ? `${entry.groupId ?? ''} ${id}` : id;
    return `${queue}\u0000${scoped}`;
  }

  get(key: string | undefined): DedupAnswer | undefined {
    return key === undefined ? undefined : this.entries.get(key);
  }

  remember(key: string | undefined, answer: DedupAnswer): void {
    if (key !== undefined) this.entries.set(key, answer);
  }

  /** Forgets a queue's entries (it was purged or deleted; a new queue of that name starts afresh). */
  forgetQueue(queue: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${queue}\u0000`)) this.entries.delete(key);
  }
}
