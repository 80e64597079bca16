import type { DedupEntry, MessageBody, MessageMeta, QueueRecord, StoreMutation } from '../queue/types.ts';

/** One queue as storage holds it; metas come in enqueue order. */
export interface StoredQueue {
  record: QueueRecord;
  metas: MessageMeta[];
  dedup: Array<[string, DedupEntry]>;
}

/**
 * Where a node keeps queue state. `write` is atomic and durable when it resolves (one synced batch);
 * the engine calls it once per group commit. Real adapter: LevelDB; memory twin for model tests.
 */
export interface QueueStore {
  load(): Promise<StoredQueue[]>;
  /** The lowest id a new queue may take (0 if none was recorded). */
  loadQueueIdFloor(): Promise<number>;
  write(mutations: readonly StoreMutation[]): Promise<void>;
  readBodies(messageIds: readonly string[]): Promise<Array<MessageBody | undefined>>;
  close(): Promise<void>;
}

/** Storage cannot be opened or read: corrupt, locked by another process, or not ours. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
  }
}
