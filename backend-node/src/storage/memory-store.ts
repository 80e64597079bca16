/**
 * The in-memory twin of LevelQueueStore, for model tests that need no disk. Values go through the
 * same msgpack encoding, so shared references cannot hide a missing write.
 */
import { unpack } from 'msgpackr';
import type { DedupEntry, MessageBody, QueueRecord, StoreMutation } from '../queue/types.ts';
import { QUEUE_ID_FLOOR_KEY, bodyKey, dedupPrefix, metaPrefix } from './keys.ts';
import { decodeMeta } from './meta-encoding.ts';
import { toWriteSet } from './write-set.ts';
import type { QueueStore, StoredQueue } from './queue-store.ts';

export class MemoryQueueStore implements QueueStore {
  private readonly data = new Map<string, Buffer>();
  writes = 0;

  private sortedEntries(prefix: string): Array<[string, Buffer]> {
    return [...this.data].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async load(): Promise<StoredQueue[]> {
    return this.sortedEntries('q!').map(([, value]) => {
      const record = unpack(value) as QueueRecord;
      const metas = this.sortedEntries(metaPrefix(record.queueId)).map(([, v]) => decodeMeta(v));
      const dprefix = dedupPrefix(record.queueId);
      const dedup = this.sortedEntries(dprefix)
        .map(([k, v]): [string, DedupEntry] => [k.slice(dprefix.length), unpack(v) as DedupEntry])
        .sort((a, b) => a[1].expiresAt - b[1].expiresAt);
      return { record, metas, dedup };
    });
  }

  async loadQueueIdFloor(): Promise<number> {
    const raw = this.data.get(QUEUE_ID_FLOOR_KEY);
    return raw === undefined ? 0 : (unpack(raw) as number);
  }

  async write(mutations: readonly StoreMutation[]): Promise<void> {
    const set = toWriteSet(mutations);
    await Promise.resolve();
    set.forEach(undefined, (key, bytes) => void this.data.set(key, bytes), (key) => void this.data.delete(key));
    this.writes += 1;
  }

  async readBodies(messageIds: readonly string[]): Promise<Array<MessageBody | undefined>> {
    return messageIds.map((id) => {
      const v = this.data.get(bodyKey(id));
      return v === undefined ? undefined : (unpack(v) as MessageBody);
    });
  }

  get keyCount(): number {
    return this.data.size;
  }

  async close(): Promise<void> {}
}
