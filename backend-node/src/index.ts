/** Public entry point of the backend node: the queue engine and its storage. */
export { QueueEngine, ENGINE_DEFAULTS, type EngineOptions, type ReceivedMessage, type ReceiveOptions, type QueueDescription, type BatchResult } from './engine/engine.ts';
export { GroupCommitter } from './engine/group-commit.ts';
export { QueueStateMachine, STATE_MACHINE_DEFAULTS, type SendInput, type SendOutcome, type DecideContext, type StateMachineOptions } from './queue/state-machine.ts';
export { QueueState } from './queue/queue-state.ts';
export { encodeReceiptHandle, decodeReceiptHandle } from './queue/receipt-handle.ts';
export type * from './queue/types.ts';
export { LevelQueueStore } from './storage/level-store.ts';
export { MemoryQueueStore } from './storage/memory-store.ts';
export { StorageError, type QueueStore, type StoredQueue } from './storage/queue-store.ts';
export { EpochCache, divergence, type EpochStart } from './replication/epoch-cache.ts';
export { LeaderBookkeeping, type BookkeepingOptions } from './replication/leader-bookkeeping.ts';
export { LeaderPipeline, type LeaderOptions } from './replication/leader.ts';
export { ReplicaLog } from './replication/replica-log.ts';
export type { FetchRequest, FetchResponse, LogEntry, LogItem, LogPayload } from './replication/types.ts';
export { encodeLogEntry, decodeLogEntry, type NodeBatch, type ReplicationCheckpoint } from './storage/replication-store.ts';
export * as zk from './coordination/zk.ts';
export type { ClusterState } from './replication/types.ts';
export { ZkSession, type ZkSessionOptions } from './coordination/zk-session.ts';
