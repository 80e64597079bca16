/**
 * Queue records as the registry keeps them, and the SQS rules for making and changing them.
 * Pure: callers pass the time; nothing here touches ZooKeeper.
 */
import {
  ConveyorError,
  checkQueueName,
  defaultQueueConfig,
  formatQueueConfig,
  isFifoName,
  parseQueueAttributes,
  queueId,
  type QueueConfig,
} from '@conveyor/client-sdk/wire';
import { parseRedriveAllowPolicy } from './redrive-allow-policy.ts';

export interface QueueRecord {
  /** `<owner>:<name>`: the registry key and the queue's name on its backend (names are unique per account). */
  id: string;
  name: string;
  /** Account id of the owner. */
  owner: string;
  arn: string;
  /** Backend cluster that holds the queue's messages. */
  clusterId: string;
  config: QueueConfig;
  /** Attributes the engine does not model, kept as given (Policy, RedriveAllowPolicy, KMS settings). */
  extraAttributes: Record<string, string>;
  tags: Record<string, string>;
  createdAt: number;
  lastModifiedAt: number;
  /** Set while the queue moves to another cluster (drain-and-switch). */
  move?: { to: string; startedAt: number };
}

const EXTRA_ATTRIBUTES = ['Policy', 'RedriveAllowPolicy', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'SqsManagedSseEnabled'] as const;
export const MAX_TAGS = 50;

export function queueArn(region: string, owner: string, name: string): string {
  return `arn:aws:sqs:${region}:${owner}:${name}`;
}

function extraAttributes(attributes: Readonly<Record<string, string>>, base: Record<string, string> = {}): Record<string, string> {
  const out = { ...base };
  for (const key of EXTRA_ATTRIBUTES) {
    const value = attributes[key];
    if (value === undefined) continue;
    if (value === '' && key !== 'SqsManagedSseEnabled') delete out[key];
    else out[key] = value;
  }
  return out;
}

function checkJsonAttribute(name: string, text: string | undefined): void {
  if (text === undefined || text === '') return;
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
  } catch {
    throw new ConveyorError('InvalidAttributeValue', `Invalid value for the parameter ${name}. Reason: must be a JSON object.`, { attribute: name });
  }
}

export function checkTags(tags: unknown): Record<string, string> {
  if (tags === undefined || tags === null) return {};
  if (typeof tags !== 'object' || Array.isArray(tags)) throw new ConveyorError('InvalidParameterValue', 'Tags must be a map of strings.', { parameter: 'Tags' });
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags as Record<string, unknown>)) {
    if (key.length === 0 || key.length > 128) throw new ConveyorError('InvalidParameterValue', `Tag key "${key.slice(0, 140)}" must be 1 to 128 characters.`, { parameter: 'Tags' });
    if (typeof value !== 'string' || value.length > 256) throw new ConveyorError('InvalidParameterValue', `Tag value for "${key}" must be a string of at most 256 characters.`, { parameter: 'Tags' });
    out[key] = value;
  }
  return out;
}

export interface CreateInput {
  name: string;
  attributes: Readonly<Record<string, string>>;
  tags: Readonly<Record<string, string>>;
  owner: string;
  region: string;
  clusterId: string;
  now: number;
}

/** A new queue's record; refuses bad names, attributes and tags with SQS's codes. */
export function buildQueueRecord(input: CreateInput): QueueRecord {
  const name = checkQueueName(input.name);
  if (typeof input.attributes !== 'object' || input.attributes === null) throw new ConveyorError('InvalidParameterValue', 'Attributes must be a map of strings.');
  const id = queueId(input.owner, name);
  // Parsed under the id, so a redrive policy names its dead-letter queue by id too.
  const config = parseQueueAttributes(id, input.attributes, defaultQueueConfig(isFifoName(name)), true);
  checkJsonAttribute('Policy', input.attributes.Policy);
  if (input.attributes.RedriveAllowPolicy) parseRedriveAllowPolicy(input.attributes.RedriveAllowPolicy);
  const tags = checkTags(input.tags);
  if (Object.keys(tags).length > MAX_TAGS) throw new ConveyorError('InvalidParameterValue', `Too many tags: at most ${MAX_TAGS}.`, { parameter: 'Tags' });
  return {
    id,
    name,
    owner: input.owner,
    arn: queueArn(input.region, input.owner, name),
    clusterId: input.clusterId,
    config,
    extraAttributes: extraAttributes(input.attributes),
    tags,
    createdAt: input.now,
    lastModifiedAt: input.now,
  };
}

/** The first attribute whose value differs between an existing queue and a CreateQueue request, if any. */
export function differingAttribute(existing: QueueRecord, requested: QueueRecord, requestedKeys?: readonly string[]): string | undefined {
  // SqsManagedSseEnabled defaults to "true" (§1.3): stating the default is not a different value.
  const a: Record<string, string> = { SqsManagedSseEnabled: 'true', ...formatQueueConfig(existing.config), ...existing.extraAttributes };
  const b: Record<string, string> = { SqsManagedSseEnabled: 'true', ...formatQueueConfig(requested.config), ...requested.extraAttributes };
  // Like SQS, a CreateQueue for an existing queue compares the attributes it names (all, if not told which).
  const keys = requestedKeys ?? [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const key of keys) if (a[key] !== b[key]) return key;
  return undefined;
}

/** SetQueueAttributes: the record with the attributes changed (FifoQueue cannot change). */
export function withAttributes(record: QueueRecord, attributes: Readonly<Record<string, string>>, now: number): QueueRecord {
  const config = parseQueueAttributes(record.id, attributes, record.config, false);
  checkJsonAttribute('Policy', attributes.Policy);
  if (attributes.RedriveAllowPolicy) parseRedriveAllowPolicy(attributes.RedriveAllowPolicy);
  return { ...record, config, extraAttributes: extraAttributes(attributes, record.extraAttributes), lastModifiedAt: now };
}

/** GetQueueAttributes `All`, as SQS answers it (timestamps in seconds). */
export function attributeView(record: QueueRecord, counts: { visible: number; inflight: number; delayed: number } | undefined): Record<string, string> {
  return {
    QueueArn: record.arn,
    ApproximateNumberOfMessages: String(counts?.visible ?? 0),
    ApproximateNumberOfMessagesNotVisible: String(counts?.inflight ?? 0),
    ApproximateNumberOfMessagesDelayed: String(counts?.delayed ?? 0),
    CreatedTimestamp: String(Math.floor(record.createdAt / 1000)),
    LastModifiedTimestamp: String(Math.floor(record.lastModifiedAt / 1000)),
    SqsManagedSseEnabled: 'true',
    ...formatQueueConfig(record.config),
    ...record.extraAttributes,
  };
}

/** One page of names (sorted) after `nextToken`, SQS style: a token only when MaxResults was given and more remain. */
export function paginate(names: readonly string[], maxResults: number | undefined, nextToken: string | undefined, limit = 1000): { names: string[]; nextToken?: string } {
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > limit)) {
    throw new ConveyorError('InvalidParameterValue', `Value ${maxResults} for parameter MaxResults is invalid. Reason: Must be between 1 and ${limit}.`, { parameter: 'MaxResults' });
  }
  let start = 0;
  if (nextToken !== undefined) {
    let after: string;
    try {
      after = Buffer.from(nextToken, 'base64url').toString('utf8');
      // Node's decoder skips bad characters and bytes rather than failing: only a token that
      // round-trips is one we issued.
      if (!after || Buffer.from(after, 'utf8').toString('base64url') !== nextToken) throw new Error('not a token');
    } catch {
      throw new ConveyorError('InvalidParameterValue', 'Invalid NextToken value.', { parameter: 'NextToken' });
    }
    start = names.findIndex((n) => n > after);
    if (start < 0) start = names.length;
  }
  const size = maxResults ?? limit;
  const page = names.slice(start, start + size);
  const more = maxResults !== undefined && start + size < names.length;
  return more ? { names: page, nextToken: Buffer.from(page.at(-1)!, 'utf8').toString('base64url') } : { names: page };
}
