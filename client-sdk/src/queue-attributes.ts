/**
 * Typed queue attributes for the SDK's administration calls, mapped to and from SQS's string
 * attributes, and checked locally with the same rules the servers apply.
 */
import { defaultQueueConfig, isFifoName, parseQueueAttributes } from './wire/index.ts';

/** A dead-letter queue: where a message goes after `maxReceiveCount` receives. */
export interface RedrivePolicy {
  /** The dead-letter queue's ARN (it must be of the same type, FIFO or standard). */
  deadLetterTargetArn: string;
  /** Receives (1–1,000) before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
}

/** Settable queue attributes, with SQS's meanings and limits. */
export interface QueueAttributes {
  /** Seconds (0–900) new messages stay invisible before their first delivery. */
  delaySeconds?: number;
  /** Largest message in bytes (1,024–1,048,576). */
  maximumMessageSize?: number;
  /** Seconds (60–1,209,600) a message is kept. */
  messageRetentionPeriodSeconds?: number;
  /** Default long-poll wait of a receive, in seconds (0–20). */
  receiveMessageWaitTimeSeconds?: number;
  /** Default seconds (0–43,200) a received message stays invisible to other receivers. */
  visibilityTimeoutSeconds?: number;
  /** A dead-letter queue; `null` removes it (on `setAttributes`). */
  redrivePolicy?: RedrivePolicy | null;
  /** A FIFO queue (the name must end in `.fifo`); set automatically for such names on create. */
  fifoQueue?: boolean;
  /** FIFO: deduplicate by the body's SHA-256 when a send has no deduplication id. */
  contentBasedDeduplication?: boolean;
  /** FIFO: whether deduplication ids are unique per queue or per message group. */
  deduplicationScope?: 'queue' | 'messageGroup';
  /** FIFO: whether the throughput limit applies per queue or per message group. */
  fifoThroughputLimit?: 'perQueue' | 'perMessageGroupId';
}

/** A queue's attributes as `getAttributes` reads them. */
export interface QueueDescription {
  /** The queue's name. */
  name: string;
  /** The queue's ARN (the form a redrive policy names). */
  arn: string;
  /** The typed attributes (defaults filled in by the server). */
  attributes: QueueAttributes;
  /** Every attribute as SQS strings, including ones this SDK does not type (Policy, KMS…). */
  rawAttributes: Readonly<Record<string, string>>;
  /** Approximate message counts. */
  counts: { visible: number; inflight: number; delayed: number };
  /** Epoch milliseconds of the queue's creation. */
  createdAt: number;
  /** Epoch milliseconds of the last attribute change. */
  lastModifiedAt: number;
}

/** Typed attributes → SQS strings (only the ones given). */
export function toWireAttributes(attributes: QueueAttributes): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (name: string, value: string | number | boolean | undefined): void => {
    if (value !== undefined) out[name] = String(value);
  };
  set('DelaySeconds', attributes.delaySeconds);
  set('MaximumMessageSize', attributes.maximumMessageSize);
  set('MessageRetentionPeriod', attributes.messageRetentionPeriodSeconds);
  set('ReceiveMessageWaitTimeSeconds', attributes.receiveMessageWaitTimeSeconds);
  set('VisibilityTimeout', attributes.visibilityTimeoutSeconds);
  if (attributes.redrivePolicy !== undefined) out.RedrivePolicy = attributes.redrivePolicy === null ? '' : JSON.stringify(attributes.redrivePolicy);
  set('FifoQueue', attributes.fifoQueue);
  set('ContentBasedDeduplication', attributes.contentBasedDeduplication);
  set('DeduplicationScope', attributes.deduplicationScope);
  set('FifoThroughputLimit', attributes.fifoThroughputLimit);
  return out;
}

/** SQS strings → typed attributes (unknown or malformed values are left out). */
export function fromWireAttributes(raw: Readonly<Record<string, string>>): QueueAttributes {
  const num = (name: string): number | undefined => (raw[name] !== undefined && raw[name] !== '' && Number.isFinite(Number(raw[name])) ? Number(raw[name]) : undefined);
  const out: QueueAttributes = {
    delaySeconds: num('DelaySeconds'),
    maximumMessageSize: num('MaximumMessageSize'),
    messageRetentionPeriodSeconds: num('MessageRetentionPeriod'),
    receiveMessageWaitTimeSeconds: num('ReceiveMessageWaitTimeSeconds'),
    visibilityTimeoutSeconds: num('VisibilityTimeout'),
    fifoQueue: raw.FifoQueue === 'true',
  };
  if (raw.RedrivePolicy) {
    try {
      const policy = JSON.parse(raw.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number | string };
      out.redrivePolicy = { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: Number(policy.maxReceiveCount) };
    } catch {
      // a policy this SDK cannot read stays in rawAttributes
    }
  }
  if (out.fifoQueue) {
    out.contentBasedDeduplication = raw.ContentBasedDeduplication === 'true';
    if (raw.DeduplicationScope === 'queue' || raw.DeduplicationScope === 'messageGroup') out.deduplicationScope = raw.DeduplicationScope;
    if (raw.FifoThroughputLimit === 'perQueue' || raw.FifoThroughputLimit === 'perMessageGroupId') out.fifoThroughputLimit = raw.FifoThroughputLimit;
  }
  for (const key of Object.keys(out) as Array<keyof QueueAttributes>) if (out[key] === undefined) delete out[key];
  return out;
}

/** The wire attributes for creating `name` (FifoQueue added for `.fifo` names), checked locally. */
export function creationAttributes(name: string, attributes: QueueAttributes): Record<string, string> {
  const wire = toWireAttributes(attributes);
  if (isFifoName(name) && wire.FifoQueue === undefined) wire.FifoQueue = 'true';
  parseQueueAttributes(name, wire, defaultQueueConfig(isFifoName(name)), true);
  return wire;
}

/** The wire attributes for changing `name`, checked locally. */
export function changedAttributes(name: string, attributes: QueueAttributes): Record<string, string> {
  const wire = toWireAttributes(attributes);
  parseQueueAttributes(name, wire, defaultQueueConfig(isFifoName(name)), false);
  return wire;
}
