/**
 * SQS queue attributes (string maps on the wire) to and from Conveyor's typed queue config.
 * CreateQueue and SetQueueAttributes go through `parseQueueAttributes`, which names the attribute
 * and the rule on every refusal, as SQS does.
 */
import { ConveyorError } from './errors.ts';
import { LIMITS, QUEUE_DEFAULTS } from './limits.ts';

/** A queue's settings in engine units (milliseconds, bytes). */
export interface QueueConfig {
  fifo: boolean;
  visibilityTimeoutMs: number;
  delayMs: number;
  retentionMs: number;
  maxMessageBytes: number;
  receiveWaitMs: number;
  contentBasedDeduplication: boolean;
  deduplicationScope: 'queue' | 'messageGroup';
  fifoThroughputLimit: 'perQueue' | 'perMessageGroupId';
  /**
   * Dead-letter target by queue id (`<account>:<name>` when the source's own id is namespaced, the
   * bare name otherwise), and how many receives a message gets before it moves there.
   */
  redrive?: { deadLetterQueue: string; deadLetterTargetArn: string; maxReceiveCount: number };
}

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export function isFifoName(name: string): boolean {
  return name.endsWith('.fifo');
}

/** Checks a queue name as SQS does: 1–80 of [A-Za-z0-9_-], with `.fifo` exactly for FIFO queues. */
export function checkQueueName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ConveyorError('MissingParameter', 'The request must contain the parameter QueueName.', { parameter: 'QueueName' });
  }
  const stem = isFifoName(name) ? name.slice(0, -5) : name;
  if (name.length > LIMITS.maxQueueNameLength || !QUEUE_NAME.test(stem)) {
    throw new ConveyorError(
      'InvalidParameterValue',
      'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      { parameter: 'QueueName', queue: name },
    );
  }
  return name;
}

/**
 * Queue ids: queue names are unique per account, so the registry and the backends name a queue
 * `<account>:<name>` (the ARN's last two fields), e.g. `123456789012:orders`. A bare name is
 * still a valid id for a backend used on its own (tests, the engine benchmark).
 */
export function queueId(account: string, name: string): string {
  return `${account}:${name}`;
}

/** The account and name of a queue id; `account` is undefined for a bare name. */
export function splitQueueId(id: string): { account: string | undefined; name: string } {
  const colon = id.indexOf(':');
  return colon < 0 ? { account: undefined, name: id } : { account: id.slice(0, colon), name: id.slice(colon + 1) };
}

/** Checks a queue id: a queue name, optionally prefixed by a 12-digit account id and `:`. */
export function checkQueueId(id: unknown): string {
  if (typeof id === 'string' && id.includes(':')) {
    const { account, name } = splitQueueId(id);
    if (!/^\d{12}$/.test(account!)) throw new ConveyorError('InvalidParameterValue', `Queue id "${id.slice(0, 120)}" must be <12-digit account>:<queue name>.`, { parameter: 'QueueName' });
    checkQueueName(name);
    return id;
  }
  return checkQueueName(id);
}

/** The queue id an ARN names (`arn:aws:sqs:region:account:name` → `account:name`). */
export function queueIdFromArn(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs' || !/^\d{12}$/.test(parts[4]!) || !parts[5]) return undefined;
  return queueId(parts[4]!, parts[5]);
}

export function defaultQueueConfig(fifo: boolean): QueueConfig {
  return {
    fifo,
    visibilityTimeoutMs: QUEUE_DEFAULTS.visibilityTimeoutSeconds * 1000,
    delayMs: QUEUE_DEFAULTS.delaySeconds * 1000,
    retentionMs: QUEUE_DEFAULTS.messageRetentionPeriodSeconds * 1000,
    maxMessageBytes: QUEUE_DEFAULTS.maximumMessageSize,
    receiveWaitMs: QUEUE_DEFAULTS.receiveMessageWaitTimeSeconds * 1000,
    contentBasedDeduplication: false,
    deduplicationScope: 'queue',
    fifoThroughputLimit: 'perQueue',
  };
}

function invalidValue(name: string, reason: string): ConveyorError {
  return new ConveyorError('InvalidAttributeValue', `Invalid value for the parameter ${name}. Reason: ${reason}`, { attribute: name });
}

function integerAttribute(name: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw invalidValue(name, `Must be an integer between ${min} and ${max}.`);
  const value = Number(text);
  if (value < min || value > max) throw invalidValue(name, `Must be between ${min} and ${max}.`);
  return value;
}

function booleanAttribute(name: string, text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw invalidValue(name, 'Must be true or false.');
}

/** The queue name at the end of an ARN (`arn:aws:sqs:region:account:name`). */
export function queueNameFromArn(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') return undefined;
  return parts[5] || undefined;
}

function parseRedrivePolicy(text: string, fifo: boolean, namespaced: boolean): QueueConfig['redrive'] {
  if (text === '') return undefined;
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw invalidValue('RedrivePolicy', 'Redrive policy is not a valid JSON map.');
  }
  if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) throw invalidValue('RedrivePolicy', 'Redrive policy is not a valid JSON map.');
  const { deadLetterTargetArn, maxReceiveCount, ...rest } = policy as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw invalidValue('RedrivePolicy', `Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount]; found ${extra.join(', ')}.`);
  if (typeof deadLetterTargetArn !== 'string') throw invalidValue('RedrivePolicy', 'Redrive policy does not contain mandatory attribute: deadLetterTargetArn.');
  const deadLetterQueue = namespaced ? queueIdFromArn(deadLetterTargetArn) : queueNameFromArn(deadLetterTargetArn);
  if (!deadLetterQueue) throw invalidValue('RedrivePolicy', `Invalid deadLetterTargetArn ${deadLetterTargetArn}.`);
  if (isFifoName(deadLetterQueue) !== fifo) {
    throw invalidValue('RedrivePolicy', 'Dead-letter target owner queue and source queue must be of the same type (FIFO or standard).');
  }
  const count = typeof maxReceiveCount === 'string' ? (/^\d+$/.test(maxReceiveCount) ? Number(maxReceiveCount) : NaN) : maxReceiveCount;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > LIMITS.maxReceiveCountLimit) {
    throw invalidValue('RedrivePolicy', 'Value for maxReceiveCount must be an integer between 1 and 1000.');
  }
  return { deadLetterQueue, deadLetterTargetArn, maxReceiveCount: count };
}

const SETTABLE = new Set([
  'DelaySeconds', 'MaximumMessageSize', 'MessageRetentionPeriod', 'ReceiveMessageWaitTimeSeconds', 'VisibilityTimeout',
  'RedrivePolicy', 'RedriveAllowPolicy', 'Policy', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'SqsManagedSseEnabled',
  'FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit',
]);
const FIFO_ONLY = new Set(['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);

/**
 * Applies an SQS attribute map to `base` and returns the new config. `creating` allows FifoQueue;
 * attributes the engine does not model (Policy, KMS settings, RedriveAllowPolicy) are checked for
 * name only and left to the metadata layer.
 */
export function parseQueueAttributes(name: string, attributes: Readonly<Record<string, string>>, base: QueueConfig, creating: boolean): QueueConfig {
  const config: QueueConfig = { ...base };
  const fifo = isFifoName(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (!SETTABLE.has(key)) throw new ConveyorError('InvalidAttributeName', `Unknown Attribute ${key}.`, { attribute: key });
    if (typeof value !== 'string') throw invalidValue(key, 'Attribute values must be strings.');
    if (FIFO_ONLY.has(key) && !fifo) {
      throw new ConveyorError('InvalidAttributeName', `You can specify the ${key} only when FifoQueue is set to true.`, { attribute: key });
    }
    switch (key) {
      case 'DelaySeconds': config.delayMs = integerAttribute(key, value, 0, LIMITS.maxDelaySeconds) * 1000; break;
      case 'MaximumMessageSize': config.maxMessageBytes = integerAttribute(key, value, LIMITS.minMaximumMessageSizeBytes, LIMITS.maxMessageBytes); break;
      case 'MessageRetentionPeriod': config.retentionMs = integerAttribute(key, value, LIMITS.minRetentionSeconds, LIMITS.maxRetentionSeconds) * 1000; break;
      case 'ReceiveMessageWaitTimeSeconds': config.receiveWaitMs = integerAttribute(key, value, 0, LIMITS.maxWaitTimeSeconds) * 1000; break;
      case 'VisibilityTimeout': config.visibilityTimeoutMs = integerAttribute(key, value, 0, LIMITS.maxVisibilityTimeoutSeconds) * 1000; break;
      case 'RedrivePolicy': {
        const redrive = parseRedrivePolicy(value, fifo, name.includes(':'));
        if (redrive) config.redrive = redrive;
        else delete config.redrive;
        break;
      }
      case 'FifoQueue': {
        const wanted = booleanAttribute(key, value);
        if (!creating && wanted !== config.fifo) throw invalidValue(key, 'Modifying queue type is not supported.');
        if (wanted !== fifo) {
          throw invalidValue(key, fifo ? 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix.' : 'A FIFO queue name must end with the .fifo suffix.');
        }
        break;
      }
      case 'ContentBasedDeduplication': config.contentBasedDeduplication = booleanAttribute(key, value); break;
      case 'DeduplicationScope':
        if (value !== 'queue' && value !== 'messageGroup') throw invalidValue(key, 'Must be queue or messageGroup.');
        config.deduplicationScope = value;
        break;
      case 'FifoThroughputLimit':
        if (value !== 'perQueue' && value !== 'perMessageGroupId') throw invalidValue(key, 'Must be perQueue or perMessageGroupId.');
        config.fifoThroughputLimit = value;
        break;
      case 'KmsDataKeyReusePeriodSeconds': integerAttribute(key, value, 60, 86_400); break;
      case 'SqsManagedSseEnabled': booleanAttribute(key, value); break;
      default: break; // Policy, RedriveAllowPolicy, KmsMasterKeyId: kept by the metadata layer
    }
  }
  if (creating && fifo && attributes.FifoQueue !== 'true') {
    throw invalidValue('FifoQueue', 'A queue name ending in .fifo needs the attribute FifoQueue set to true.');
  }
  if (config.fifoThroughputLimit === 'perMessageGroupId' && config.deduplicationScope !== 'messageGroup') {
    throw invalidValue('FifoThroughputLimit', 'perMessageGroupId can be used only when DeduplicationScope is messageGroup.');
  }
  return config;
}

/** The config's attributes as SQS strings (only the ones the engine models). */
export function formatQueueConfig(config: QueueConfig): Record<string, string> {
  const out: Record<string, string> = {
    DelaySeconds: String(config.delayMs / 1000),
    MaximumMessageSize: String(config.maxMessageBytes),
    MessageRetentionPeriod: String(config.retentionMs / 1000),
    ReceiveMessageWaitTimeSeconds: String(config.receiveWaitMs / 1000),
    VisibilityTimeout: String(config.visibilityTimeoutMs / 1000),
  };
  if (config.redrive) {
    out.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: config.redrive.deadLetterTargetArn, maxReceiveCount: config.redrive.maxReceiveCount });
  }
  if (config.fifo) {
    out.FifoQueue = 'true';
    out.ContentBasedDeduplication = String(config.contentBasedDeduplication);
    out.DeduplicationScope = config.deduplicationScope;
    out.FifoThroughputLimit = config.fifoThroughputLimit;
  }
  return out;
}
