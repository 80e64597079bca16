/**
 * The frontend's short memory of recent FIFO sends: (queue, deduplication key) → the answer the
 * backend gave, so a retried send is answered without a backend round trip. The backend's
 * replicated dedup window stays the authority; entries here live for less than that window and
 * only for sends that were really enqueued (a duplicate's original may be near its window's end).
 */
import { LIMITS, hexDigest, type QueueConfig } from '@conveyor/client-sdk';

export interface DedupAnswer {
  messageId: string;
  sequenceNumber?: string;
}

/** Well inside SQS's 5-minute window, so an entry never outlives the backend's memory. */
const TTL_MS = LIMITS.dedupWindowMs - 60_000;

interface Entry {
  answer: DedupAnswer;
  expiresAt: number;
}

/**
 * Every entry lives for the same time, so a Map in insertion order is also in expiry order: the
 * oldest entries, at the front, expire (and are evicted at the size bound) first. A remembered
 * answer moves to the back. Cheaper per send than an LRU with per-entry timers.
 */
export class DedupCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = 100_000, private readonly now: () => number = Date.now) {}

  /** The key a FIFO send is deduplicated by, as the backend computes it; undefined for standard queues. */
  static key(queue: string, config: QueueConfig, entry: { body: string; groupId?: string; dedupId?: string }): string | undefined {
    if (!config.fifo) return undefined;
    const id = entry.dedupId ?? (config.contentBasedDeduplication ? hexDigest('sha256', entry.body) : undefined);
    if (id === undefined) return undefined;
    const scoped = config.deduplicationScope === 'messageGroup' ? `${entry.groupId ?? ''} ${id}` : id;
    return `${queue}\u0000${scoped}`;
  }

  get(key: string | undefined): DedupAnswer | undefined {
    if (key === undefined) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  remember(key: string | undefined, answer: DedupAnswer): void {
    if (key === undefined) return;
    const now = this.now();
    this.entries.delete(key);
    this.entries.set(key, { answer, expiresAt: now + TTL_MS });
    // Expired entries leave from the front; the size bound evicts the oldest.
    for (const [oldest, entry] of this.entries) {
      if (entry.expiresAt > now && this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets a queue's entries (it was purged or deleted; a new queue of that name starts afresh). */
  forgetQueue(queue: string): void {
    const prefix = `${queue}\u0000`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
