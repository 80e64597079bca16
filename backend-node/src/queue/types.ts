import type { MessageAttributes, QueueConfig } from '@conveyor/client-sdk/wire';

export type { QueueConfig };

/** The durable record of a queue on a backend node. */
export interface QueueRecord {
  queueId: number;
  name: string;
  arn: string;
  config: QueueConfig;
  createdAt: number;
  lastModifiedAt: number;
  lastPurgeAt: number;
  /** Next enqueue sequence (orders messages inside the queue; part of receipt handles). */
  nextSeq: number;
  /** Next FIFO sequence number. */
  nextSequenceNumber: number;
  /** Set while the queue moves to another cluster: sends are refused (they go there), the rest drains. */
  movedTo?: string;
}

/** What the engine keeps of a message apart from its body: small, rewritten on every receive. */
export interface MessageMeta {
  seq: number;
  id: string;
  sentAt: number;
  /** When it entered this queue; retention counts from here. */
  enqueuedAt: number;
  /** The message is invisible (delayed or in flight) until this time. */
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt: number;
  /** Time of the latest receive; bounds visibility extensions to 12 h. */
  receivedAt: number;
  /** Nonce of the latest receive's handle; 0 before the first receive. */
  nonce: number;
  groupId?: string;
  dedupId?: string;
  sequenceNumber?: string;
  md5OfBody: string;
  md5OfAttributes?: string;
  senderId?: string;
  traceHeader?: string;
  dlqSourceArn?: string;
  /**
   * Offset of the replicated-log record that carries this message's body. Set on replicas, where
   * the log is the body store (a body is written once); absent on a single node, where the body
   * has its own key.
   */
  logRef?: number;
}

/** The parts of a message that never change after send; stored apart from the meta. */
export interface MessageBody {
  body: string;
  attributes?: MessageAttributes;
}

/**
 * A body and attributes as a send record encodes them (a msgpack str and a plain msgpack map,
 * views into the record): what a receive answer copies without decoding them.
 */
export interface EncodedBody {
  encodedBody: Buffer;
  encodedAttributes?: Buffer;
}

export interface DedupEntry {
  messageId: string;
  sequenceNumber?: string;
  expiresAt: number;
}

/** A message as the send record carries it: everything the replicas need, decided by the leader. */
export interface NewMessage {
  seq: number;
  id: string;
  body: string;
  attributes?: MessageAttributes;
  md5OfBody: string;
  md5OfAttributes?: string;
  delayMs: number;
  groupId?: string;
  dedupId?: string;
  /** Key in the dedup window (dedup id, scoped by group when the queue says so). */
  dedupKey?: string;
  sequenceNumber?: string;
  senderId?: string;
  traceHeader?: string;
}

/**
 * State changes, as the log carries them. Every field an apply needs is in the record, including
 * the leader's timestamp `ts`, so every replica computes the same state.
 */
export type QueueLogRecord =
  | { type: 'createQueue'; ts: number; queue: QueueRecord }
  | { type: 'updateQueue'; ts: number; name: string; config: QueueConfig }
  | { type: 'deleteQueue'; ts: number; name: string }
  | { type: 'sealQueue'; ts: number; name: string; movedTo: string }
  | { type: 'send'; ts: number; queue: string; messages: NewMessage[] }
  | { type: 'receive'; ts: number; queue: string; visibilityMs: number; received: Array<{ seq: number; nonce: number }>; moved: number[] }
  | { type: 'delete'; ts: number; queue: string; seqs: number[] }
  | { type: 'changeVisibility'; ts: number; queue: string; changes: Array<{ seq: number; visibleAt: number }> }
  | { type: 'purge'; ts: number; queue: string }
  | { type: 'expire'; ts: number };

/** What applying a record asks storage to do. The store adapter maps these to keys. */
export type StoreMutation =
  | { op: 'putQueue'; queue: QueueRecord }
  | { op: 'delQueue'; queueId: number }
  | { op: 'putQueueIdFloor'; nextQueueId: number }
  /** `created`: the meta of a new message, whose key no earlier write can have stored. */
  | { op: 'putMeta'; queueId: number; meta: MessageMeta; created?: true }
  | { op: 'delMeta'; queueId: number; seq: number }
  | { op: 'putBody'; messageId: string; body: MessageBody }
  | { op: 'delBody'; messageId: string; logRef?: number }
  | { op: 'putDedup'; queueId: number; key: string; entry: DedupEntry }
  | { op: 'delDedup'; queueId: number; key: string };
