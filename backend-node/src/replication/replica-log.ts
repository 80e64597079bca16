/**
 * A node's view of its cluster's log: positions (start, end, persisted, applied), the leader epoch
 * cache, and a bounded in-memory tail of recent records so fetches rarely touch the disk.
 */
import type { ReplicationCheckpoint, ReplicationStore } from '../storage/replication-store.ts';
import { EpochCache } from './epoch-cache.ts';
import type { LogEntry, LogPayload } from './types.ts';

const MAX_TAIL_ENTRIES = 50_000;

export class ReplicaLog {
  epochs: EpochCache;
  logStart: number;
  logEnd: number;
  persistedEnd: number;
  appliedEnd: number;
  private tail: LogEntry[] = [];
  private lastEpochValue: number;

  constructor(readonly store: ReplicationStore, loaded: { checkpoint: ReplicationCheckpoint; logEnd: number; lastEpoch: number }) {
    this.epochs = new EpochCache(loaded.checkpoint.epochs);
    this.logStart = loaded.checkpoint.logStart;
    this.logEnd = loaded.logEnd;
    this.persistedEnd = loaded.logEnd;
    this.appliedEnd = loaded.checkpoint.appliedEnd;
    this.lastEpochValue = loaded.lastEpoch;
  }

  /** Epoch of the last record (-1 for an empty log). */
  lastEpoch(): number {
    return this.logEnd > this.logStart || this.tail.length > 0 ? this.lastEpochValue : this.epochs.latestEpoch();
  }

  checkpoint(appliedEnd = this.appliedEnd): ReplicationCheckpoint {
    return { appliedEnd, logStart: this.logStart, epochs: this.epochs.entries };
  }

  /** Leader: appends a record in memory; the caller persists it. */
  append(epoch: number, payload: LogPayload): LogEntry {
    if (this.epochs.latestEpoch() < epoch) this.epochs.assign(epoch, this.logEnd);
    const entry: LogEntry = { offset: this.logEnd, epoch, payload };
    this.pushTail(entry);
    return entry;
  }

  /** Follower: takes records from the leader, which must continue this log exactly. */
  appendFromLeader(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (entry.offset !== this.logEnd) throw new Error(`record ${entry.offset} does not continue the log at ${this.logEnd}`);
      if (entry.epoch < this.lastEpoch()) throw new Error(`record ${entry.offset} has epoch ${entry.epoch}, older than ${this.lastEpoch()}`);
      if (this.epochs.latestEpoch() < entry.epoch) this.epochs.assign(entry.epoch, entry.offset);
      this.pushTail(entry);
    }
  }

  private pushTail(entry: LogEntry): void {
    this.tail.push(entry);
    this.logEnd = entry.offset + 1;
    this.lastEpochValue = entry.epoch;
    if (this.tail.length > MAX_TAIL_ENTRIES * 1.5) {
      // Keep unpersisted records always; drop the oldest persisted ones.
      const drop = Math.min(this.tail.length - MAX_TAIL_ENTRIES, this.persistedEnd - this.tail[0]!.offset);
      if (drop > 0) this.tail.splice(0, drop);
    }
  }

  /** Records not yet persisted (the tail always holds them). */
  unpersisted(): LogEntry[] {
    const first = this.tail[0]?.offset ?? this.logEnd;
    return this.tail.slice(Math.max(0, this.persistedEnd - first));
  }

  /** Up to maxCount records from `from` (and before `to`), from memory or disk. */
  async read(from: number, maxCount: number, to = this.logEnd): Promise<LogEntry[]> {
    if (from >= to) return [];
    const first = this.tail[0]?.offset;
    if (first !== undefined && from >= first) {
      const start = from - first;
      return this.tail.slice(start, Math.min(start + maxCount, to - first));
    }
    const fromDisk = await this.store.readLog(from, 4 * 1024 * 1024, Math.min(maxCount, to - from));
    return fromDisk.filter((e) => e.offset < to);
  }

  /** Drops records at and after `end` (a divergent suffix) in memory and on disk. */
  async truncateTo(end: number): Promise<void> {
    if (end < this.appliedEnd) throw new Error(`cannot truncate to ${end}: records up to ${this.appliedEnd} are applied`);
    this.tail = this.tail.filter((e) => e.offset < end);
    this.epochs.truncateTo(end);
    this.logEnd = Math.max(end, this.logStart);
    this.persistedEnd = Math.min(this.persistedEnd, this.logEnd);
    await this.store.truncateFrom(end, this.checkpoint());
    const last = this.tail.at(-1) ?? (await this.store.readLog(Math.max(this.logStart, end - 1), 1024 * 1024, 1))[0];
    this.lastEpochValue = last && last.offset === end - 1 ? last.epoch : this.epochs.epochAt(end - 1);
  }

  /** Deletes records before `before` once every replica has applied them. */
  async trimBefore(before: number): Promise<void> {
    const point = Math.min(before, this.appliedEnd, this.persistedEnd);
    if (point <= this.logStart) return;
    this.logStart = point;
    this.tail = this.tail.filter((e) => e.offset >= point);
    await this.store.trimBefore(point, this.checkpoint());
  }

  /** After installing a snapshot: an empty log that starts where the snapshot's state ends. */
  resetTo(start: number, epochs: ReadonlyArray<{ epoch: number; startOffset: number }>): void {
    this.tail = [];
    this.logStart = start;
    this.logEnd = start;
    this.persistedEnd = start;
    this.appliedEnd = start;
    this.epochs = new EpochCache(epochs);
    this.lastEpochValue = this.epochs.latestEpoch();
  }
}
