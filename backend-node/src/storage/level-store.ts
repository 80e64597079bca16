/** The LevelDB adapter of QueueStore, through `level`. One database per node. */
import { join } from 'node:path';
import { Level } from 'level';
import { unpack } from 'msgpackr';
import type { DedupEntry, MessageBody, MessageMeta, QueueRecord, StoreMutation } from '../queue/types.ts';
import { QUEUE_ID_FLOOR_KEY, bodyKey, dedupPrefix, metaPrefix, prefixEnd } from './keys.ts';
import { decodeMeta } from './meta-encoding.ts';
import { toWriteSet } from './write-set.ts';
import { StorageError, type QueueStore, type StoredQueue } from './queue-store.ts';
import { ReplicationStore } from './replication-store.ts';

type Db = Level<string, Buffer>;

/** The log's segment files, inside the data directory beside LevelDB's own files (which LevelDB leaves alone). */
const LOG_DIRECTORY = 'log-segments';

function describeOpenError(location: string, error: unknown): string {
  const cause = (error as { cause?: { message?: string } })?.cause?.message ?? (error as Error)?.message ?? String(error);
  if (/lock/i.test(cause)) return `The data directory ${location} is in use by another process (LevelDB lock held).`;
  if (/corrupt|CURRENT|MANIFEST|bad magic|checksum/i.test(cause)) {
    return `The database in ${location} is corrupt and cannot be opened (${cause}). Restore it from a replica or move it aside.`;
  }
  return `The database in ${location} cannot be opened: ${cause}`;
}

export class LevelQueueStore implements QueueStore {
  private constructor(private readonly db: Db, private readonly location: string) {}

  private replicationStore: ReplicationStore | undefined;

  /**
   * The replicated log (segment files in the data directory's `log-segments/`) and its checkpoint (in
   * this database): one instance, whose writes and trims close waits for. Load it before use.
   */
  replication(options: { segmentBytes?: number } = {}): ReplicationStore {
    this.replicationStore ??= new ReplicationStore(this.db, join(this.location, LOG_DIRECTORY), options);
    return this.replicationStore;
  }

  static async open(location: string): Promise<LevelQueueStore> {
    // A larger memtable means fewer level-0 flushes and compactions under a steady write load.
    const db: Db = new Level<string, Buffer>(location, { keyEncoding: 'utf8', valueEncoding: 'buffer', writeBufferSize: 32 * 1024 * 1024 });
    try {
      await db.open();
    } catch (error) {
      throw new StorageError(describeOpenError(location, error), { cause: error });
    }
    return new LevelQueueStore(db, location);
  }

  async load(): Promise<StoredQueue[]> {
    try {
      const queues: StoredQueue[] = [];
      for await (const value of this.db.values({ gte: 'q!', lt: 'q"' })) {
        const record = unpack(value) as QueueRecord;
        const metas: MessageMeta[] = [];
        const prefix = metaPrefix(record.queueId);
        for await (const meta of this.db.values({ gte: prefix, lt: prefixEnd(prefix) })) metas.push(decodeMeta(meta));
        const dedup: Array<[string, DedupEntry]> = [];
        const dprefix = dedupPrefix(record.queueId);
        for await (const [key, entry] of this.db.iterator({ gte: dprefix, lt: prefixEnd(dprefix) })) {
          dedup.push([key.slice(dprefix.length), unpack(entry) as DedupEntry]);
        }
        dedup.sort((a, b) => a[1].expiresAt - b[1].expiresAt);
        queues.push({ record, metas, dedup });
      }
      return queues;
    } catch (error) {
      throw new StorageError(`The database in ${this.location} could not be read: ${(error as Error).message}. Restore it from a replica or move it aside.`, { cause: error });
    }
  }

  async loadQueueIdFloor(): Promise<number> {
    const raw = await this.db.get(QUEUE_ID_FLOOR_KEY);
    return raw === undefined ? 0 : (unpack(raw) as number);
  }

  async write(mutations: readonly StoreMutation[]): Promise<void> {
    const batch = this.db.batch();
    // One node: no log, so bodies have keys of their own and every delete deletes.
    toWriteSet(mutations).forEach(undefined, (key, bytes) => void batch.put(key, bytes), (key) => void batch.del(key));
    // One synced write per group commit: callers are answered only after this resolves.
    await batch.write({ sync: true });
  }

  async readBodies(messageIds: readonly string[]): Promise<Array<MessageBody | undefined>> {
    const values = await this.db.getMany(messageIds.map(bodyKey));
    return values.map((v) => (v === undefined ? undefined : (unpack(v) as MessageBody)));
  }

  async close(): Promise<void> {
    await this.replicationStore?.close();
    await this.db.close();
  }
}
