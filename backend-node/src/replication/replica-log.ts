/**
 * A node's view of its cluster's log: positions (start, end, persisted, applied), the leader epoch
 * cache, and a bounded in-memory tail of recent records so fetches rarely touch the disk.
 */
import { LRUCache } from 'lru-cache';
import { Packr } from 'msgpackr';
import type { EncodedBody, MessageBody } from '../queue/types.ts';
import { decodeLogEntry, encodeLogEntry, type ReplicationCheckpoint, type ReplicationStore } from '../storage/replication-store.ts';
import { decodeEncodedBody, skimSendBodies } from '../storage/send-entry-skim.ts';
import { WriteSet } from '../storage/write-set.ts';
import { EpochCache } from './epoch-cache.ts';
import type { LogEntry, LogItem, LogPayload } from './types.ts';

/** Bytes of recent records kept in memory for fetches (unpersisted ones are always kept). */
const MAX_TAIL_BYTES = 64 * 1024 * 1024;
/**
 * Encoded bytes of the send records whose messages' places are kept for receives. Consecutive
 * receives take consecutive messages, often from one record; keeping a little lets them read it
 * once.
 */
const READ_SENDS_BYTES = 2 * 1024 * 1024;
/** Bodies and attributes as send records encode them: plain msgpack (see encodeSendEntry). */
const plain = new Packr({ useRecords: false, mapsAsObjects: true });

export class ReplicaLog {
  epochs: EpochCache;
  logStart: number;
  logEnd: number;
  persistedEnd: number;
  appliedEnd: number;
  private tail: LogItem[] = [];
  private tailBytes = 0;
  /** Bodies of recently read send records by offset, still encoded, sized by the records' bytes. */
  private readonly readSends = new LRUCache<number, Map<string, EncodedBody>>({ maxSize: READ_SENDS_BYTES });
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
    // encodeLogEntry's buffer is the record's own: a view into msgpackr's shared buffer, up to four
    // times the size of what it packed, would pin it while the tail keeps the record (~250 MB more
    // resident memory on the leader with 64 MiB of records in the tail).
    this.pushTail({ offset: entry.offset, epoch, bytes: encodeLogEntry(entry) });
    return entry;
  }

  /** Follower: takes records from the leader, which must continue this log exactly. */
  appendFromLeader(items: readonly LogItem[]): void {
    for (const item of items) {
      if (item.offset !== this.logEnd) throw new Error(`record ${item.offset} does not continue the log at ${this.logEnd}`);
      if (item.epoch < this.lastEpoch()) throw new Error(`record ${item.offset} has epoch ${item.epoch}, older than ${this.lastEpoch()}`);
      if (this.epochs.latestEpoch() < item.epoch) this.epochs.assign(item.epoch, item.offset);
      this.pushTail(item);
    }
  }

  private pushTail(item: LogItem): void {
    this.tail.push(item);
    this.tailBytes += item.bytes.length;
    this.logEnd = item.offset + 1;
    this.lastEpochValue = item.epoch;
    if (this.tailBytes > MAX_TAIL_BYTES * 1.25) {
      // Keep unpersisted records always; drop the oldest persisted ones.
      let drop = 0;
      while (this.tailBytes > MAX_TAIL_BYTES && drop < this.tail.length && this.tail[drop]!.offset < this.persistedEnd) this.tailBytes -= this.tail[drop++]!.bytes.length;
      this.tail.splice(0, drop);
    }
  }

  /** Records not yet persisted (the tail always holds them). */
  unpersisted(): LogItem[] {
    const first = this.tail[0]?.offset ?? this.logEnd;
    return this.tail.slice(Math.max(0, this.persistedEnd - first));
  }

  /** Up to maxCount records from `from` (and before `to`), from memory or disk. */
  async read(from: number, maxCount: number, to = this.logEnd): Promise<LogItem[]> {
    if (from >= to) return [];
    const first = this.tail[0]?.offset;
    if (first !== undefined && from >= first) {
      const start = from - first;
      return this.tail.slice(start, Math.min(start + maxCount, to - first));
    }
    const fromDisk = await this.store.readLog(from, 4 * 1024 * 1024, Math.min(maxCount, to - from));
    return fromDisk.filter((e) => e.offset < to);
  }

  /** Up to maxCount decoded records from `from` (and before `to`). */
  async readEntries(from: number, maxCount: number, to = this.logEnd): Promise<LogEntry[]> {
    return (await this.read(from, maxCount, to)).map((item) => decodeLogEntry(item.bytes));
  }

  /** Drops records at and after `end` (a divergent suffix) in memory and on disk. */
  async truncateTo(end: number): Promise<void> {
    if (end < this.appliedEnd) throw new Error(`cannot truncate to ${end}: records up to ${this.appliedEnd} are applied`);
    // Offsets from `end` on will name other records.
    this.readSends.clear();
    this.tail = this.tail.filter((e) => e.offset < end);
    this.tailBytes = this.tail.reduce((n, e) => n + e.bytes.length, 0);
    this.epochs.truncateTo(end);
    this.logEnd = Math.max(end, this.logStart);
    this.persistedEnd = Math.min(this.persistedEnd, this.logEnd);
    await this.store.truncateFrom(end, this.checkpoint());
    const inTail = this.tail.at(-1);
    const stored = inTail ? undefined : (await this.store.readLog(Math.max(this.logStart, end - 1), 1024 * 1024, 1))[0];
    const last = inTail ?? stored;
    this.lastEpochValue = last && last.offset === end - 1 ? last.epoch : this.epochs.epochAt(end - 1);
  }

  /**
   * Deletes records before `before` once every replica has applied them, writing `materialized`
   * (bodies those records still held for live messages) in the same batch.
   */
  async trimBefore(before: number, materialized: WriteSet = new WriteSet()): Promise<void> {
    const point = Math.min(before, this.appliedEnd, this.persistedEnd);
    if (point <= this.logStart) return;
    await this.store.trimBefore(point, { ...this.checkpoint(), logStart: point }, materialized);
    this.logStart = point;
    this.tail = this.tail.filter((e) => e.offset >= point);
    this.tailBytes = this.tail.reduce((n, e) => n + e.bytes.length, 0);
  }

  /**
   * Bodies of messages whose send records are in this log, decoded (for copies of their own when
   * records are trimmed); undefined where a record is gone.
   */
  async readBodies(refs: ReadonlyArray<{ id: string; logRef: number }>): Promise<Array<MessageBody | undefined>> {
    return (await this.readEncodedBodies(refs)).map((encoded) => encoded && decodeEncodedBody(encoded));
  }

  /**
   * Bodies and attributes of messages whose send records are in this log, as the records encode
   * them (receive answers copy them as they are); undefined where a record is gone. A body read
   * here leaves the cache: receives take messages in order and rarely read one twice. A second
   * read reads the record again.
   */
  async readEncodedBodies(refs: ReadonlyArray<{ id: string; logRef: number }>): Promise<Array<EncodedBody | undefined>> {
    const idsByRecord = new Map<number, string[]>();
    for (const { id, logRef } of refs) {
      const ids = idsByRecord.get(logRef);
      if (ids) ids.push(id);
      else idsByRecord.set(logRef, [id]);
    }
    const found = new Map<string, EncodedBody>();
    for (const [offset, ids] of idsByRecord) {
      const bodies = await this.sendBodies(offset, ids);
      if (!bodies) continue;
      for (const id of ids) {
        const body = bodies.get(id);
        if (body === undefined) continue;
        found.set(id, body);
        bodies.delete(id);
      }
      if (bodies.size === 0) this.readSends.delete(offset);
    }
    return refs.map(({ id }) => found.get(id));
  }

  /**
   * The bodies in the send record at `offset` by message id, from the cache when it still holds
   * every one of `ids`; undefined if the record is gone or not a send. Records encodeSendEntry
   * wrote are only skimmed (views into their bytes); any other is decoded and its bodies encoded.
   */
  private async sendBodies(offset: number, ids: readonly string[]): Promise<Map<string, EncodedBody> | undefined> {
    const cached = this.readSends.get(offset);
    if (cached && ids.every((id) => cached.has(id))) return cached;
    const [item] = offset >= this.logStart && offset < this.logEnd ? await this.read(offset, 1, offset + 1) : [];
    if (!item) return undefined;
    let bodies = skimSendBodies(item.bytes);
    if (!bodies) {
      const { payload } = decodeLogEntry(item.bytes);
      if (payload.type !== 'send') return undefined;
      bodies = new Map();
      for (const m of payload.messages) {
        const encodedBody = Buffer.from(plain.pack(m.body));
        bodies.set(m.id, m.attributes ? { encodedBody, encodedAttributes: Buffer.from(plain.pack(m.attributes)) } : { encodedBody });
      }
    }
    this.readSends.set(offset, bodies, { size: Math.max(1, item.bytes.length) });
    return bodies;
  }

  /** After installing a snapshot: an empty log that starts where the snapshot's state ends. */
  resetTo(start: number, epochs: ReadonlyArray<{ epoch: number; startOffset: number }>): void {
    this.readSends.clear();
    this.tail = [];
    this.tailBytes = 0;
    this.logStart = start;
    this.logEnd = start;
    this.persistedEnd = start;
    this.appliedEnd = start;
    this.epochs = new EpochCache(epochs);
    // The leader's checkpoint may list epochs that start past its applied state (its log went
    // on): they describe none of the records here, and would make the leader's next records
    // look older than this log's last epoch.
    this.epochs.truncateTo(start);
    this.lastEpochValue = this.epochs.latestEpoch();
  }
}
