/**
 * The replicated log and its checkpoint. Records live in segment files (segment-log.ts); the
 * checkpoint (how far the state has applied the log, the log start, the epochs' starts) lives in
 * the same LevelDB as the queue state, written in one batch with the state it describes. Writes
 * are ordered: a batch's records are synced to their segment before its state and checkpoint go
 * to LevelDB, so the state never refers to a record a crash could take back.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import type { Level } from 'level';
import { decodeMeta } from './meta-encoding.ts';
import { encodeSendEntry, type SendEntry } from './send-entry-encoding.ts';
import { skimSendEntry } from './send-entry-skim.ts';
import type { EpochStart } from '../replication/epoch-cache.ts';
import { SegmentLog } from './segment-log.ts';
import { StorageError } from './queue-store.ts';
import { WriteSet } from './write-set.ts';
import type { LogEntry, LogItem, SnapshotHeader } from '../replication/types.ts';
import { LOG_PREFIX, META_PREFIX, REPLICATION_KEY, bodyKey, logKey, prefixEnd } from './keys.ts';

const packr = new Packr({ useRecords: false, mapsAsObjects: true });
/** Log records use msgpackr's records (self-contained per record, faster for lists of messages); packr reads both. */
const recordsPackr = new Packr({ useRecords: true, mapsAsObjects: true });

/** msgpackr's encoding, copied out of its shared output buffer. */
const packCopy = (entry: LogEntry | SendEntry): Buffer => Buffer.from(recordsPackr.pack(entry));

/**
 * A log record's encoding, in a buffer of its own (the log's tail keeps records a while; a view
 * into msgpackr's shared buffer would pin all of it). Sends, nearly every record under load, are
 * written by hand (encodeSendEntry); the rest by msgpackr.
 */
export function encodeLogEntry(entry: LogEntry): Buffer {
  if (entry.payload.type === 'send') return encodeSendEntry(entry as SendEntry, packCopy);
  return packCopy(entry);
}

export const decodeLogEntry = (bytes: Uint8Array): LogEntry => packr.unpack(bytes) as LogEntry;

/**
 * A record as a replica's apply reads it: send records without their messages' bodies and
 * attributes (empty bodies; see send-entry-skim.ts), which a replica's state never takes from
 * the record itself (its metas point at the record, `logRef`). Not for anything that reads bodies.
 */
export const decodeLogEntryForApply = (bytes: Buffer): LogEntry => skimSendEntry(bytes) ?? decodeLogEntry(bytes);

/** A log record as read from disk: its offset and epoch (from its frame) and its encoding. */
export interface StoredRecord {
  offset: number;
  epoch: number;
  bytes: Buffer;
}

export interface ReplicationCheckpoint {
  appliedEnd: number;
  logStart: number;
  epochs: Array<{ epoch: number; startOffset: number }>;
}

export interface LoadedLog {
  checkpoint: ReplicationCheckpoint;
  logEnd: number;
  lastEpoch: number;
}


export interface NodeBatch {
  entries?: readonly LogItem[];
  state?: readonly WriteSet[];
  checkpoint?: ReplicationCheckpoint;
}

type Db = Level<string, Buffer>;

/** Written before a snapshot replaces the log and the state, removed once it has: its presence at open means a crash cut the install short. */
const IMPORTING_MARKER = 'importing-snapshot';
/** Records moved per batch from LevelDB keys (where earlier versions kept the log) to segments. */
const MIGRATE_BATCH = 1_000;

const emptyCheckpoint = (): ReplicationCheckpoint => ({ appliedEnd: 0, logStart: 0, epochs: [] });

export class ReplicationStore {
  /** Segment deletions of trims, one after another (see trimBefore). */
  private clearing: Promise<void> = Promise.resolve();
  /** Writes, truncations, trims and imports, in the order they were asked for. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Snapshot exports under way: trims keep their segments until none is (an export reads bodies from them). */
  private exports = 0;
  private exportsDone: Array<() => void> = [];
  private segmentsValue: SegmentLog | undefined;
  /** The checkpoint as write() last wrote it. */
  private lastCheckpoint: Buffer | undefined;

  /** Told each write()'s duration in seconds and whether it was synced (for metrics). */
  onWrite: ((synced: boolean, seconds: number) => void) | undefined;

  /** `segmentsDir`: where the log's segment files live (created if missing). */
  constructor(private readonly db: Db, private readonly segmentsDir: string, private readonly options: { segmentBytes?: number } = {}) {}

  private get segments(): SegmentLog {
    if (!this.segmentsValue) throw new Error('the replication store is used before load()');
    return this.segmentsValue;
  }

  /** Resolves once every earlier trim's segments are deleted and every write is done (before closing the database). */
  async idle(): Promise<void> {
    await this.writes.catch(() => undefined);
    await this.clearing;
  }

  /** Waits for everything under way, then releases the segment files. */
  async close(): Promise<void> {
    await this.idle();
    await this.segmentsValue?.close();
  }

  /**
   * Opens the log: the checkpoint from LevelDB, the records from their segments. The epochs'
   * starts come from the checkpoint below the log start and from the records themselves above
   * it (a checkpoint written after a record of a new epoch may not have reached the disk).
   */
  async load(): Promise<LoadedLog> {
    if (existsSync(join(this.segmentsDir, IMPORTING_MARKER))) {
      // A snapshot's install was cut short: what is here is neither the old state nor the new
      // one. Start empty; the leader sends a snapshot again.
      await this.db.clear();
      await (await SegmentLog.open(this.segmentsDir, this.options)).log.clear();
      await rm(join(this.segmentsDir, IMPORTING_MARKER), { force: true });
    }
    const raw = await this.db.get(REPLICATION_KEY);
    const checkpoint: ReplicationCheckpoint = raw ? (packr.unpack(raw) as ReplicationCheckpoint) : emptyCheckpoint();
    let opened = await SegmentLog.open(this.segmentsDir, this.options);
    if (await this.migrateLegacyRecords(opened.log, checkpoint.logStart)) opened = await SegmentLog.open(this.segmentsDir, this.options);
    const { log, epochStarts } = opened;
    this.segmentsValue = log;
    const { logStart } = checkpoint;
    // Segments below the log start are left by a trim that stopped before deleting them.
    await log.deleteBefore(logStart);
    if (log.end !== undefined && log.end <= logStart) await log.clear();
    const first = log.start;
    if (first !== undefined && first > logStart) {
      throw new StorageError(`The log's records from ${logStart} to ${first} are missing from ${this.segmentsDir}. Move the data directory aside so the node starts over from its cluster.`);
    }
    const logEnd = log.end ?? logStart;
    if (checkpoint.appliedEnd > logEnd) {
      throw new StorageError(`The state in this data directory has applied the log up to ${checkpoint.appliedEnd}, but its records end at ${logEnd}. Move the data directory aside so the node starts over from its cluster.`);
    }
    const epochs = mergeEpochs(checkpoint.epochs, epochStarts, logStart);
    return { checkpoint: { ...checkpoint, epochs }, logEnd, lastEpoch: epochs.at(-1)?.epoch ?? -1 };
  }

  /**
   * Moves records that an earlier version kept under LevelDB keys into segments (all of them
   * again if a crash interrupted an earlier move: the keys go only once the segments are synced).
   */
  private async migrateLegacyRecords(log: SegmentLog, logStart: number): Promise<boolean> {
    const legacy = this.db.iterator({ gte: logKey(logStart), lt: prefixEnd(LOG_PREFIX) });
    let moved = false;
    try {
      let chunk: LogItem[] = [];
      for await (const [key, value] of legacy) {
        if (!moved) await log.clear();
        moved = true;
        const offset = parseInt(key.slice(LOG_PREFIX.length), 16);
        chunk.push({ offset, epoch: decodeLogEntry(value).epoch, bytes: value });
        if (chunk.length >= MIGRATE_BATCH) {
          await log.append(chunk);
          chunk = [];
        }
      }
      await log.append(chunk);
    } finally {
      await legacy.close();
    }
    if (moved || (await this.db.keys({ gte: LOG_PREFIX, lt: prefixEnd(LOG_PREFIX), limit: 1 }).all()).length > 0) {
      await this.db.clear({ gte: LOG_PREFIX, lt: prefixEnd(LOG_PREFIX) });
    }
    await log.close();
    return moved;
  }

  /** Stored records from `from` on, as bytes with their offsets and epochs: nothing is decoded here. */
  readLog(from: number, maxBytes: number, maxCount = 100_000): Promise<StoredRecord[]> {
    return this.segments.read(from, maxBytes, maxCount);
  }

  /**
   * One batch: its records appended to their segment and synced (they are persisted before
   * anything is acknowledged on their strength), then its state and checkpoint in one LevelDB
   * batch. That batch is synced when it carries state; a checkpoint alone is not: it only says
   * how far state already written goes, so losing it leaves an older checkpoint, and the records
   * past it (still in the log: trims write a synced checkpoint first) are applied again.
   */
  write(batch: NodeBatch): Promise<void> {
    return this.ordered(async () => {
      const started = this.onWrite ? performance.now() : 0;
      const entries = batch.entries ?? [];
      if (entries.length > 0) await this.segments.append(entries);
      const ops = this.db.batch();
      let stateWrites = 0;
      // Without a checkpoint in this batch, a body's copy may exist: its delete then deletes.
      const put = (key: string, bytes: Buffer): void => void (stateWrites++, ops.put(key, bytes));
      const del = (key: string): void => void (stateWrites++, ops.del(key));
      for (const set of batch.state ?? []) set.forEach(batch.checkpoint?.logStart, put, del);
      const checkpoint = batch.checkpoint && Buffer.from(packr.pack(batch.checkpoint));
      // A checkpoint as last written, with no state, would change nothing: most rounds under load.
      if (checkpoint && (stateWrites > 0 || !this.lastCheckpoint?.equals(checkpoint))) ops.put(REPLICATION_KEY, checkpoint);
      if (ops.length > 0) {
        await ops.write({ sync: stateWrites > 0 });
        if (checkpoint) this.lastCheckpoint = checkpoint;
      } else await ops.close();
      this.onWrite?.(entries.length > 0 || stateWrites > 0, (performance.now() - started) / 1000);
    });
  }

  /** Deletes log records at and after `from` (a follower's divergent suffix), with the new checkpoint. */
  truncateFrom(from: number, checkpoint: ReplicationCheckpoint): Promise<void> {
    return this.ordered(async () => {
      await this.segments.truncateFrom(from);
      this.lastCheckpoint = undefined;
      await this.db.put(REPLICATION_KEY, packr.pack(checkpoint), { sync: true });
    });
  }

  /**
   * Trims the log before `before`, which every replica has applied: the new checkpoint and
   * `extra` (bodies copied out of the trimmed records) in one synced batch, then, in the
   * background, the segments wholly before it. A crash in between leaves segments below the log
   * start, which nothing reads and the next open deletes.
   */
  trimBefore(before: number, checkpoint: ReplicationCheckpoint, extra: WriteSet = new WriteSet()): Promise<void> {
    return this.ordered(async () => {
      const ops = this.db.batch();
      extra.forEach(undefined, (key, bytes) => void ops.put(key, bytes), (key) => void ops.del(key));
      ops.put(REPLICATION_KEY, packr.pack(checkpoint));
      this.lastCheckpoint = undefined;
      await ops.write({ sync: true });
      this.clearing = this.clearing
        .then(() => this.noExports())
        .then(() => this.segments.deleteBefore(before))
        .catch(() => undefined); // the next trim, or the next open, deletes them
    });
  }

  /**
   * The applied state as key/value pairs from one consistent LevelDB snapshot, header first.
   * Log records are left out; bodies that live in them are sent as body keys of their own, since
   * the receiving node's log starts after the snapshot. Trims delete no segment meanwhile.
   */
  async *exportSnapshot(): AsyncGenerator<[string, Buffer] | SnapshotHeader> {
    this.exports++;
    const snapshot = this.db.snapshot();
    try {
      const raw = await this.db.get(REPLICATION_KEY, { snapshot });
      const cp: ReplicationCheckpoint = raw ? (packr.unpack(raw) as ReplicationCheckpoint) : emptyCheckpoint();
      yield { appliedEnd: cp.appliedEnd, epochs: cp.epochs } satisfies SnapshotHeader;
      let record: { offset: number; messages: Map<string, { body: string; attributes?: unknown }> } | undefined;
      for await (const [key, value] of this.db.iterator({ snapshot })) {
        if (key.startsWith(LOG_PREFIX) || key === REPLICATION_KEY) continue;
        yield [key, value];
        if (!key.startsWith(META_PREFIX)) continue;
        const meta = decodeMeta(value);
        if (meta.logRef === undefined) continue;
        if (record?.offset !== meta.logRef) {
          // Metas come in enqueue order, so consecutive ones mostly share a record: decode it once.
          const [stored] = meta.logRef >= cp.logStart ? await this.segments.read(meta.logRef, 1, 1) : [];
          const payload = stored?.offset === meta.logRef ? decodeLogEntry(stored.bytes).payload : undefined;
          record = { offset: meta.logRef, messages: new Map(payload?.type === 'send' ? payload.messages.map((m) => [m.id, m]) : []) };
        }
        const m = record.messages.get(meta.id);
        // Not found: the record was trimmed, and the body has a key of its own, already sent.
        if (m) yield [bodyKey(meta.id), packr.pack(m.attributes ? { body: m.body, attributes: m.attributes } : { body: m.body })];
      }
    } finally {
      await snapshot.close();
      if (--this.exports === 0) for (const done of this.exportsDone.splice(0)) done();
    }
  }

  /** Replaces everything (state and log) with a snapshot's pairs; the log starts after it. */
  importSnapshot(header: SnapshotHeader, pairs: AsyncIterable<[string, Buffer]>): Promise<void> {
    return this.ordered(async () => {
      await this.clearing;
      const marker = join(this.segmentsDir, IMPORTING_MARKER);
      await writeFile(marker, String(header.appliedEnd), { flush: true });
      await this.segments.clear();
      this.lastCheckpoint = undefined;
      await this.db.clear();
      let ops = this.db.batch();
      let n = 0;
      for await (const [key, value] of pairs) {
        ops.put(key, value);
        if (++n % 10_000 === 0) {
          await ops.write();
          ops = this.db.batch();
        }
      }
      // Epochs that start at or past the snapshot's end are not in this log (yet): the leader sends them again.
      const epochs = header.epochs.filter((e) => e.startOffset < header.appliedEnd);
      ops.put(REPLICATION_KEY, packr.pack({ appliedEnd: header.appliedEnd, logStart: header.appliedEnd, epochs } satisfies ReplicationCheckpoint));
      await ops.write({ sync: true });
      await rm(marker, { force: true });
    });
  }

  private noExports(): Promise<void> {
    return this.exports === 0 ? Promise.resolve() : new Promise((resolve) => this.exportsDone.push(resolve));
  }

  private ordered<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work);
    this.writes = run.catch(() => undefined);
    return run;
  }
}

/**
 * The epochs' starts: the checkpoint's below the log start (trims write them with the log start),
 * the records' own from there on.
 */
function mergeEpochs(checkpointEpochs: readonly EpochStart[], recordEpochs: readonly EpochStart[], logStart: number): EpochStart[] {
  const epochs = checkpointEpochs.filter((e) => e.startOffset < logStart);
  for (const e of recordEpochs) {
    if (e.startOffset >= logStart && e.epoch > (epochs.at(-1)?.epoch ?? -1)) epochs.push({ epoch: e.epoch, startOffset: e.startOffset });
  }
  return epochs;
}

export const encodeSnapshotItem = (item: [string, Buffer] | SnapshotHeader): Buffer => packr.pack(item);
export const decodeSnapshotItem = (bytes: Uint8Array): [string, Buffer] | SnapshotHeader => packr.unpack(bytes) as [string, Buffer] | SnapshotHeader;
