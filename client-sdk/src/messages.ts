/**
 * What callers send and receive, and the local checks a message passes before any request goes:
 * SQS's body, attribute and size rules, and the FIFO-only and standard-only fields.
 */
import {
  checkDeduplicationId, checkDelaySeconds, checkMessageAttributes, checkMessageBody, checkMessageGroupId, checkMessageSize,
  invalidParameter, LIMITS, missingParameter, type MessageAttributes, type NativeReceivedMessage, type NativeSendEntry,
} from './wire/index.ts';

/** A message to send. A plain string is shorthand for `{ body }`. */
export interface OutgoingMessage {
  /** The body: 1 byte to 1 MiB of text (XML 1.0 characters, as SQS allows). */
  body: string;
  /** Up to 10 typed attributes (String, Number or Binary, with optional custom suffixes). */
  attributes?: MessageAttributes;
  /** Standard queues: seconds (0–900) before the message is first visible. Refused on FIFO queues. */
  delaySeconds?: number;
  /** FIFO queues (required): the message group, delivered in order. Standard queues: a fair-queue tenant. */
  groupId?: string;
  /** FIFO queues: the deduplication id (without one the queue needs content-based deduplication). Refused on standard queues. */
  dedupId?: string;
  /** An AWS X-Ray trace header, returned to receivers as `AWSTraceHeader`. */
  traceHeader?: string;
}

/** What a send returns. */
export interface SendResult {
  /** The message's id. */
  messageId: string;
  /** FIFO queues: the message's sequence number in its group's order. */
  sequenceNumber?: string;
  /** The body's MD5, as SQS reports it. */
  md5OfBody: string;
  /** True when the send was recognised as a retry or duplicate and answered with the original message. */
  duplicate: boolean;
}

/**
 * A received message: id, receipt handle (for `delete` and `changeVisibility`), body, attributes
 * and SQS's system attributes (`SentTimestamp`, `ApproximateReceiveCount`, `MessageGroupId`…).
 */
export type ReceivedMessage = NativeReceivedMessage;

/** Options of a receive. */
export interface ReceiveOptions {
  /** Messages at most: 1–1,000 (the native API's bound; SQS's protocols allow 10). Default 10. */
  max?: number;
  /** Long-poll seconds (0–20) to wait for a message. Default: the queue's ReceiveMessageWaitTimeSeconds. */
  waitSeconds?: number;
  /** Seconds (0–43,200) the messages stay invisible. Default: the queue's VisibilityTimeout. */
  visibilityTimeout?: number;
  /** FIFO: a receive attempt id, so a retried receive returns the same messages. */
  attemptId?: string;
  /** Ends the receive (and its long poll at the server). */
  signal?: AbortSignal;
}

/** The native entry for a message and the bytes it counts toward a batch; throws before anything is sent. */
export function prepareSend(message: string | OutgoingMessage, fifo: boolean): { entry: NativeSendEntry; bytes: number } {
  const m: OutgoingMessage = typeof message === 'string' ? { body: message } : message;
  if (typeof m !== 'object' || m === null) throw invalidParameter('message', typeof m, 'Must be a string or a message object.');
  const body = checkMessageBody(m.body);
  const bodyBytes = Buffer.byteLength(body, 'utf8');
  const attributeBytes = checkMessageAttributes(m.attributes);
  checkMessageSize(bodyBytes + attributeBytes, LIMITS.maxMessageBytes);
  // Reused as the wire entry: the batch assigns `id` (and a standard entry's idempotency key).
  const entry: NativeSendEntry = { id: '', body };
  if (m.attributes !== undefined && Object.keys(m.attributes).length > 0) entry.attributes = m.attributes;
  if (m.delaySeconds !== undefined) {
    const delay = checkDelaySeconds(m.delaySeconds);
    if (fifo && delay > 0) throw invalidParameter('DelaySeconds', delay, 'The request include parameter that is not valid for this queue type.');
    entry.delaySeconds = delay;
  }
  if (m.groupId !== undefined) entry.groupId = checkMessageGroupId(m.groupId);
  else if (fifo) throw missingParameter('MessageGroupId');
  if (m.dedupId !== undefined) {
    if (!fifo) throw invalidParameter('MessageDeduplicationId', m.dedupId, 'The request includes a parameter that is not valid for this queue type.');
    entry.dedupId = checkDeduplicationId(m.dedupId);
  }
  if (m.traceHeader !== undefined) {
    if (typeof m.traceHeader !== 'string' || m.traceHeader.length === 0) throw invalidParameter('AWSTraceHeader', m.traceHeader, 'Must be a non-empty string.');
    entry.traceHeader = m.traceHeader;
  }
  // The entry's framing (id, keys, field names) is small next to a body; 64 bytes covers it.
  return { entry, bytes: bodyBytes + attributeBytes + 64 };
}
