import type { QueueLogRecord } from '../queue/types.ts';

/** A leader's first record in its epoch: fixes where the epoch starts and commits what came before. */
export interface EpochStartRecord {
  type: 'epochStart';
  ts: number;
  epoch: number;
  leader: string;
}

export type LogPayload = QueueLogRecord | EpochStartRecord;

/** One record of a cluster's replicated log. Offsets start at 0; "ends" are exclusive. */
export interface LogEntry {
  offset: number;
  epoch: number;
  payload: LogPayload;
}

/** The cluster's coordination record (`/clusters/<id>/state`), changed only by compare-and-set. */
export interface ClusterState {
  epoch: number;
  leader: string | null;
  isr: string[];
}

export interface FetchRequest {
  clusterId: string;
  followerId: string;
  /** The newest leader epoch the follower knows; a leader with an older one is stale. */
  epoch: number;
  /** The follower's log end: everything before it is persisted there (this acknowledges it). */
  fetchOffset: number;
  /** Epoch of the follower's record at fetchOffset - 1 (-1 when its log is empty). */
  lastFetchedEpoch: number;
  /** Everything before this offset is applied to the follower's state (bounds log trimming). */
  appliedEnd: number;
  maxBytes?: number;
  /** How long the leader may hold the request when it has nothing new. */
  maxWaitMs?: number;
}

/**
 * A log record as kept and moved: its position, its epoch and its encoding, made once by the
 * leader and reused for disk and network. The payload is decoded only where it is needed (see
 * decodeLogEntry), so the records a node keeps in memory hold no decoded messages: retained
 * message objects and bodies would cost every garbage collection.
 */
export interface LogItem {
  offset: number;
  epoch: number;
  bytes: Buffer;
}

export type FetchResponse =
  /** `entries` are encoded records (see encodeLogEntry), so they cross the wire and reach disk as made. */
  | { kind: 'records'; epoch: number; entries: Buffer[]; highWatermark: number; logStart: number }
  | { kind: 'diverging'; epoch: number; divergingEpoch: number; endOffset: number }
  | { kind: 'snapshotRequired'; epoch: number; logStart: number };

/** What a replication snapshot carries besides the state's keys. */
export interface SnapshotHeader {
  appliedEnd: number;
  epochs: Array<{ epoch: number; startOffset: number }>;
}

/**
 * Committed records' state is written in batches (the leader and followers alike), the last
 * write to a key winning: a message sent, received and deleted before its state is written
 * costs the disk nothing, one received and deleted a single delete. The records themselves are
 * on disk first; after a crash the state is rebuilt from the checkpoint by applying them again.
 * How long it waits is decided by `stateWriteDueAt`.
 */
export const STATE_DELAY = {
  /** A set this small is written after `smallMs`: at low load, writes stay small and frequent. */
  smallKeys: 1_000,
  smallMs: 200,
  /**
   * A larger one waits up to `ms`: under load most messages of a queue whose consumers keep up
   * live longer than 200 ms (half of them still cost every node a put and a delete then) and
   * well under 2 s (about a tenth do).
   */
  ms: 2_000,
  /**
   * ...or until this many keys wait: a batch of 5,000 metas takes ~5 ms of the event loop to
   * build and LevelDB as long to write, and the records behind it wait for it (a backlog's sends
   * and deletes do not fold away, so there the batches stay about as large as at 200 ms).
   */
  keys: 5_000,
} as const;

/** How long after `since` a set of `keys` waiting writes is due (STATE_DELAY). */
export function stateWriteDueAt(since: number, keys: number): number {
  if (keys >= STATE_DELAY.keys) return since;
  return since + (keys < STATE_DELAY.smallKeys ? STATE_DELAY.smallMs : STATE_DELAY.ms);
}
