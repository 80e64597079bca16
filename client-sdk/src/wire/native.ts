/**
 * Conveyor's native API: msgpack bodies over HTTP, `POST /native/<Action>`. The backend nodes
 * serve it; the frontend and the SDK call it. Field names are the engine's (camelCase, seconds
 * where SQS uses seconds). Errors come back with the code's HTTP status and a `NativeError` body.
 */
import { Packr } from 'msgpackr';
import { hexDigest } from './digest.ts';
import type { ErrorCode, ErrorContext } from './errors.ts';
import type { MessageAttributes, ReceivedSystemAttributes } from './types.ts';

export const NATIVE_CONTENT_TYPE = 'application/x-msgpack';
/**
 * SigV4's `x-amz-content-sha256` value for a body the signature leaves out. Frontends accept it
 * only over TLS, which keeps the body from being changed (see ConveyorOptions.signPayload).
 */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/**
 * The SDK's body digest on the native API: with `x-amz-content-sha256: UNSIGNED-PAYLOAD`, this
 * header, one of the signed ones, carries the body's BLAKE2b-512 (hex), which the frontend checks,
 * so the signature covers the body as SigV4's SHA-256 would. BLAKE2b runs about twice as fast as
 * SHA-256 on these CPUs (no SHA extensions), and every byte sent is hashed on both sides.
 */
export const BODY_DIGEST_HEADER = 'x-conveyor-content-blake2b512';
/** A body's digest as BODY_DIGEST_HEADER carries it. */
export const bodyDigest = (body: Uint8Array): string => hexDigest('blake2b512', Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
export const NATIVE_PATH_PREFIX = '/native/';

// One codec for every hop; binary attribute values travel as raw bytes.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });
/** Plain msgpack: what the public native API speaks, so any msgpack library can read it. */
export const encodeNative = (value: unknown): Buffer => packr.pack(value);
/** Reads plain msgpack and msgpackr's records alike. */
export const decodeNative = <T>(bytes: Uint8Array): T => packr.unpack(bytes) as T;

const recordsPackr = new Packr({ useRecords: true, mapsAsObjects: true });
/**
 * msgpack with msgpackr's record extension: objects of one shape are written as one structure
 * per message and then rows of values, which encodes lists of messages about a quarter faster.
 * Each message is self-contained, and decodeNative reads it; only msgpackr does, so it is for
 * the hops between Conveyor's own processes (backend answers, requests to backends, log records).
 */
export const encodeNativeInternal = (value: unknown): Buffer => recordsPackr.pack(value);

/**
 * The `accept` value of a caller that reads msgpackr's records: the frontend then answers it in
 * them (encodeNativeInternal), which is cheaper to write and to read than plain maps. Callers
 * that do not send it get plain msgpack.
 */
export const NATIVE_RECORDS_ACCEPT = `${NATIVE_CONTENT_TYPE}; records=msgpackr`;
/** Whether an `accept` header asks for msgpackr's records (NATIVE_RECORDS_ACCEPT). */
export const acceptsNativeRecords = (accept: string | undefined): boolean => accept !== undefined && accept.includes('records=msgpackr');

export interface NativeError {
  error: { code: ErrorCode; message: string; context?: ErrorContext };
}

export interface NativeSendEntry {
  id: string;
  body: string;
  attributes?: MessageAttributes;
  delaySeconds?: number;
  groupId?: string;
  dedupId?: string;
  traceHeader?: string;
  senderId?: string;
  /**
   * Standard queues: a caller-chosen key that makes a retried send idempotent at the frontend that
   * saw it (for about four minutes); FIFO queues use their deduplication ids instead.
   */
  idempotencyKey?: string;
  /**
   * Set only by message move tasks: the FIFO deduplication window is checked on this key (unique
   * to one receive of the moved message, so a retried move is deduplicated) instead of the
   * message's own deduplication id, which the moved message keeps. Without it a message moved
   * back to its source within five minutes would be taken for its own duplicate and lost.
   * Frontends drop it from client requests.
   */
  redriveKey?: string;
}

export interface NativeSendSuccess {
  id: string;
  messageId: string;
  md5OfBody: string;
  md5OfAttributes?: string;
  sequenceNumber?: string;
  /** A FIFO duplicate inside the deduplication window: answered with the original, not enqueued. */
  duplicate?: boolean;
}

export interface NativeBatchFailure {
  id: string;
  code: string;
  message: string;
  senderFault: boolean;
}

export interface NativeReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  attributes?: MessageAttributes;
  md5OfMessageAttributes?: string;
  systemAttributes: ReceivedSystemAttributes;
}

export interface NativeQueueInfo {
  name: string;
  arn: string;
  createdAt: number;
  lastModifiedAt: number;
  attributes: Record<string, string>;
  counts: { visible: number; inflight: number; delayed: number };
}

/** Every native action: its request and its response. */
export interface NativeActions {
  CreateQueue: { request: { queue: string; attributes?: Record<string, string>; arn?: string }; response: { queue: string; arn: string } };
  DeleteQueue: { request: { queue: string }; response: Record<string, never> };
  SetQueueAttributes: { request: { queue: string; attributes: Record<string, string> }; response: Record<string, never> };
  GetQueue: { request: { queue: string }; response: NativeQueueInfo };
  ListQueues: { request: { prefix?: string }; response: { queues: string[] } };
  SendMessageBatch: {
    request: { queue: string; entries: NativeSendEntry[]; maxEntries?: number };
    response: { successful: NativeSendSuccess[]; failed: NativeBatchFailure[] };
  };
  ReceiveMessage: {
    /** `maxMessages` may go up to 1,000 on the native API (SQS's protocols keep 10). */
    /**
     * `systemAttributes: false` leaves each message's `systemAttributes` empty, for callers that
     * want none of them (a frontend answering an SQS receive that asked for no attribute names).
     */
    request: { queue: string; maxMessages?: number; visibilityTimeoutSeconds?: number; waitTimeSeconds?: number; attemptId?: string; systemAttributes?: boolean };
    response: { messages: NativeReceivedMessage[] };
  };
  DeleteMessageBatch: {
    request: { queue: string; entries: Array<{ id: string; receiptHandle: string }>; maxEntries?: number };
    response: { successful: Array<{ id: string }>; failed: NativeBatchFailure[] };
  };
  ChangeMessageVisibilityBatch: {
    request: { queue: string; entries: Array<{ id: string; receiptHandle: string; visibilityTimeoutSeconds: number }>; maxEntries?: number };
    response: { successful: Array<{ id: string }>; failed: NativeBatchFailure[] };
  };
  PurgeQueue: { request: { queue: string }; response: Record<string, never> };
  /** Refuses further sends (QueueMoved, naming the cluster) while the queue drains to `movedTo`. */
  SealQueue: { request: { queue: string; movedTo: string }; response: Record<string, never> };
}

export type NativeAction = keyof NativeActions;

/** A receive that waits for messages: it holds its connection while it waits, so callers give long polls connections of their own. */
export function isLongPoll(action: NativeAction, body: unknown): boolean {
  if (action !== 'ReceiveMessage') return false;
  const wait = (body as { waitTimeSeconds?: unknown } | undefined)?.waitTimeSeconds;
  return typeof wait === 'number' && wait > 0;
}
export const NATIVE_ACTIONS: readonly NativeAction[] = Object.freeze([
  'CreateQueue', 'DeleteQueue', 'SetQueueAttributes', 'GetQueue', 'ListQueues', 'SendMessageBatch',
  'ReceiveMessage', 'DeleteMessageBatch', 'ChangeMessageVisibilityBatch', 'PurgeQueue', 'SealQueue',
]);
