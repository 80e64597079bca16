/**
 * The replicated log and its checkpoint, in the same LevelDB as the queue state, so that one
 * synced batch can hold new log records, the state changes of newly committed records and the
 * checkpoint that says how far the state has applied the log.
 */
import { Packr } from 'msgpackr';
import type { Level } from 'level';
import { decodeMeta } from './meta-encoding.ts';
import { encodeSendEntry, type SendEntry } from './send-entry-encoding.ts';
import { skimSendEntry } from './send-entry-skim.ts';
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

/** A log record as read from disk: its offset (from its key) and its encoding. */
export interface StoredRecord {
  offset: number;
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

export class ReplicationStore {
  /** The range deletes of trimmed records, one after another (see trimBefore). */
  private clearing: Promise<void> = Promise.resolve();

  /** Told each write()'s duration in seconds and whether it was synced (for metrics). */
  onWrite: ((synced: boolean, seconds: number) => void) | undefined;

  constructor(private readonly db: Db) {}

  /** Resolves once the records of every earlier trim are deleted (before closing the database). */
  idle(): Promise<void> {
    return this.clearing;
  }

  async load(): Promise<LoadedLog> {
    const raw = await this.db.get(REPLICATION_KEY);
    const checkpoint: ReplicationCheckpoint = raw ? (packr.unpack(raw) as ReplicationCheckpoint) : { appliedEnd: 0, logStart: 0, epochs: [] };
    let logEnd = checkpoint.logStart;
    let lastEpoch = checkpoint.epochs.at(-1)?.epoch ?? -1;
    // Records below the log start can outlive a trim that crashed before clearing them: ignored.
    for await (const [key, value] of this.db.iterator({ gte: logKey(checkpoint.logStart), lt: prefixEnd(LOG_PREFIX), reverse: true, limit: 1 })) {
      logEnd = parseInt(key.slice(LOG_PREFIX.length), 16) + 1;
      lastEpoch = (packr.unpack(value) as LogEntry).epoch;
    }
    return { checkpoint, logEnd, lastEpoch };
  }

  /** Stored records from `from` on, as bytes with their offsets: nothing is decoded here. */
  async readLog(from: number, maxBytes: number, maxCount = 100_000): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    let bytes = 0;
    for await (const [key, value] of this.db.iterator({ gte: logKey(from), lt: prefixEnd(LOG_PREFIX), limit: maxCount })) {
      out.push({ offset: parseInt(key.slice(LOG_PREFIX.length), 16), bytes: value });
      bytes += value.length;
      if (bytes >= maxBytes) break;
    }
    return out;
  }

  /**
   * One batch, synced when it carries log records: records are persisted before anything is
   * acknowledged on their strength. A batch of applied state alone (with its checkpoint) is not
   * synced: it is derived from records already on disk, a crash that loses it leaves the older
   * checkpoint and state together, and the records past that checkpoint are applied again. Any
   * later synced write (records, trims) syncs it too, since LevelDB's log is written in order.
   */
  async write(batch: NodeBatch): Promise<void> {
    const ops = this.db.batch();
    for (const item of batch.entries ?? []) ops.put(logKey(item.offset), item.bytes);
    // Without a checkpoint in this batch, a body's copy may exist: its delete then deletes.
    const put = (key: string, bytes: Buffer): void => void ops.put(key, bytes);
    const del = (key: string): void => void ops.del(key);
    for (const set of batch.state ?? []) set.forEach(batch.checkpoint?.logStart, put, del);
    if (batch.checkpoint) ops.put(REPLICATION_KEY, packr.pack(batch.checkpoint));
    const synced = (batch.entries?.length ?? 0) > 0;
    const started = this.onWrite ? performance.now() : 0;
    await ops.write({ sync: synced });
    this.onWrite?.(synced, (performance.now() - started) / 1000);
  }

  /** Deletes log records at and after `from` (a follower's divergent suffix), with the new checkpoint. */
  async truncateFrom(from: number, checkpoint: ReplicationCheckpoint): Promise<void> {
    const ops = this.db.batch();
    for await (const key of this.db.keys({ gte: logKey(from), lt: prefixEnd(LOG_PREFIX) })) ops.del(key);
    ops.put(REPLICATION_KEY, packr.pack(checkpoint));
    await ops.write({ sync: true });
  }

  /** Deletes log records before `before`, which every replica has applied, with `extra` writes in the same batch. */
  async trimBefore(before: number, checkpoint: ReplicationCheckpoint, extra: WriteSet = new WriteSet()): Promise<void> {
    const ops = this.db.batch();
    extra.forEach(undefined, (key, bytes) => void ops.put(key, bytes), (key) => void ops.del(key));
    ops.put(REPLICATION_KEY, packr.pack(checkpoint));
    await ops.write({ sync: true });
    // The new log start (and the bodies copied out) are on disk first; the records go after, in
    // LevelDB's own range delete. A crash in between leaves records below the log start, which
    // nothing reads and the next trim clears. The delete reads through every record it removes
    // (tens of MB after a busy spell), so it runs in the background: the writes of new records
    // and their acknowledgements do not wait for it. Should it fail, the next trim clears them.
    this.clearing = this.clearing.then(() => this.db.clear({ gte: LOG_PREFIX, lt: logKey(before) })).catch(() => undefined);
  }

  /**
   * The applied state as key/value pairs from one consistent LevelDB snapshot, header first.
   * Log records are left out; bodies that live in them are sent as body keys of their own, since
   * the receiving node's log starts after the snapshot.
   */
  async *exportSnapshot(): AsyncGenerator<[string, Buffer] | SnapshotHeader> {
    const snapshot = this.db.snapshot();
    try {
      const raw = await this.db.get(REPLICATION_KEY, { snapshot });
      const cp: ReplicationCheckpoint = raw ? (packr.unpack(raw) as ReplicationCheckpoint) : { appliedEnd: 0, logStart: 0, epochs: [] };
      yield { appliedEnd: cp.appliedEnd, epochs: cp.epochs } satisfies SnapshotHeader;
      for await (const [key, value] of this.db.iterator({ snapshot })) {
        if (key.startsWith(LOG_PREFIX) || key === REPLICATION_KEY) continue;
        yield [key, value];
        if (!key.startsWith(META_PREFIX)) continue;
        const meta = decodeMeta(value);
        if (meta.logRef === undefined) continue;
        const record = await this.db.get(logKey(meta.logRef), { snapshot });
        if (!record) continue; // trimmed: the body has a key of its own, already sent
        const payload = decodeLogEntry(record).payload;
        const m = payload.type === 'send' ? payload.messages.find((x) => x.id === meta.id) : undefined;
        if (m) yield [bodyKey(meta.id), packr.pack(m.attributes ? { body: m.body, attributes: m.attributes } : { body: m.body })];
      }
    } finally {
      await snapshot.close();
    }
  }

  /** Replaces everything (state and log) with a snapshot's pairs; the log starts after it. */
  async importSnapshot(header: SnapshotHeader, pairs: AsyncIterable<[string, Buffer]>): Promise<void> {
    await this.idle();
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
  }
}

export const encodeSnapshotItem = (item: [string, Buffer] | SnapshotHeader): Buffer => packr.pack(item);
export const decodeSnapshotItem = (bytes: Uint8Array): [string, Buffer] | SnapshotHeader => packr.unpack(bytes) as [string, Buffer] | SnapshotHeader;
