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
 * Every entry lives for the same time, so the order of remembering is also the order of expiry:
 * the oldest entries expire (and are evicted at the size bound) first. A Map finds entries; an
 * array of (key, entry) in remembering order finds the oldest. (Taking the oldest from the Map's
 * own iterator would cost a walk over every slot deleted before it: tens of µs per send once the
 * cache is full.) A key remembered again gets a new entry at the back, and its old place in the
 * array, which no longer matches the Map, is skipped. Cheaper per send than an LRU with timers.
 */
export class DedupCache {
  private readonly entries = new Map<string, Entry>();
  private orderKeys: string[] = [];
  private orderEntries: Entry[] = [];
  private head = 0;

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
    const entry: Entry = { answer, expiresAt: now + TTL_MS };
    this.entries.set(key, entry);
    this.orderKeys.push(key);
    this.orderEntries.push(entry);
    // Expired entries leave from the front; the size bound evicts the oldest. Bounded: each pass advances the head.
    while (this.head < this.orderKeys.length) {
      const oldest = this.orderKeys[this.head]!;
      const current = this.entries.get(oldest);
      if (current !== undefined && current === this.orderEntries[this.head]) {
        if (current.expiresAt > now && this.entries.size <= this.maxEntries) break;
        this.entries.delete(oldest);
      }
      this.head += 1;
    }
    const live = this.orderKeys.length - this.head;
    if (this.head > 1024 && this.head * 2 > this.orderKeys.length) this.compact(false);
    else if (live > 2 * this.entries.size + 1024) this.compact(true);
  }

  /** Drops the array's front (and, with `stale`, the places of keys remembered again since). */
  private compact(stale: boolean): void {
    const keys: string[] = [];
    const entries: Entry[] = [];
    for (let i = this.head; i < this.orderKeys.length; i++) {
      const key = this.orderKeys[i]!;
      if (stale && this.entries.get(key) !== this.orderEntries[i]) continue;
      keys.push(key);
      entries.push(this.orderEntries[i]!);
    }
    this.orderKeys = keys;
    this.orderEntries = entries;
    this.head = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets a queue's entries (it was purged or deleted; a new queue of that name starts afresh). */
  forgetQueue(queue: string): void {
    const prefix = `${queue}\u0000`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
    this.compact(true);
  }
}
