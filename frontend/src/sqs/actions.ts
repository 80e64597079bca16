/**
 * The SQS actions, as the JSON protocol names them: each takes the decoded request body and
 * answers the response body. Parameters are checked here, before anything reaches a backend.
 */
import {
  ConveyorError,
  LIMITS,
  checkBatchEntries,
  checkBatchSize,
  checkDeduplicationId,
  checkDelaySeconds,
  checkMaxNumberOfMessages,
  checkMessageAttributes,
  checkMessageBody,
  checkMessageGroupId,
  checkMessageSize,
  checkReceiveRequestAttemptId,
  checkVisibilityTimeout,
  checkWaitTimeSeconds,
  invalidParameter,
  isConveyorError,
  md5OfBody,
  md5OfMessageAttributes,
  missingParameter,
  splitQueueId,
  type MessageAttributes,
  type NativeReceivedMessage,
  type NativeSendEntry,
  type NativeSendSuccess,
} from '@conveyor/client-sdk';
import { DedupCache } from '../core/dedup-cache.ts';
import { authorizedRoute, checkQueueAttributes, queueRefFromUrl, queueRefOf, type QueueRef } from '../auth/queue-access.ts';
import type { QueueRoute } from '../upstream/metadata-client.ts';
import { unwrapReceiptHandle, wrapReceiptHandle, type Router } from '../upstream/router.ts';
import {
  fromJsonAttributes,
  optionalInteger,
  optionalString,
  optionalStringList,
  optionalStringMap,
  queueUrl,
  queueUrlFrom,
  requireString,
  toJsonAttributes,
  type Json,
} from './shapes.ts';

export interface ActionContext {
  router: Router;
  dedup: DedupCache;
  publicUrl: string;
  /** Account id of the verified caller (the configured default account when authentication is off). */
  account: string;
  path: string;
  signal: AbortSignal | undefined;
}

type Handler = (input: Json, ctx: ActionContext) => Promise<Json>;

const SYSTEM_ATTRIBUTES_ON_ALL_STANDARD = ['ApproximateFirstReceiveTimestamp', 'ApproximateReceiveCount', 'SenderId', 'SentTimestamp'];
const SYSTEM_ATTRIBUTES = new Set([
  'All', 'SenderId', 'SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SequenceNumber',
  'MessageDeduplicationId', 'MessageGroupId', 'AWSTraceHeader', 'DeadLetterQueueSourceArn',
]);

function url(ctx: ActionContext, route: { owner: string; name: string }): string {
  return queueUrl(ctx.publicUrl, route.owner, route.name);
}

/**
 * The queue a request names (QueueUrl, or the queue URL it was sent to) and its route, if the
 * caller may do `action` on it; missing and forbidden queues are both QueueDoesNotExist.
 */
async function queueFor(input: Json, ctx: ActionContext, action: string, refresh = false): Promise<{ ref: QueueRef; route: QueueRoute }> {
  const ref = queueRefFromUrl(queueUrlFrom(input, ctx.path), ctx.account);
  return { ref, route: await authorizedRoute(ctx.router.metadata, ref, ctx.account, action, refresh) };
}

/** One send entry checked against the queue's rules (the backend checks again). */
function toSendEntry(entry: Json, route: QueueRoute, account: string): NativeSendEntry & { bytes: number } {
  const body = checkMessageBody(entry.MessageBody);
  const attributes = fromJsonAttributes(entry.MessageAttributes);
  const attributeBytes = checkMessageAttributes(attributes);
  const bytes = Buffer.byteLength(body, 'utf8') + attributeBytes;
  checkMessageSize(bytes, route.config.maxMessageBytes);
  const out: NativeSendEntry & { bytes: number } = { id: typeof entry.Id === 'string' ? entry.Id : 'single', body, senderId: account, bytes };
  if (attributes && Object.keys(attributes).length > 0) out.attributes = attributes;
  const delay = optionalInteger(entry, 'DelaySeconds');
  if (delay !== undefined) {
    checkDelaySeconds(delay);
    if (route.config.fifo && delay > 0) throw invalidParameter('DelaySeconds', delay, 'The request include parameter that is not valid for this queue type.');
    out.delaySeconds = delay;
  }
  const group = optionalString(entry, 'MessageGroupId');
  if (group !== undefined) out.groupId = checkMessageGroupId(group);
  const dedup = optionalString(entry, 'MessageDeduplicationId');
  if (dedup !== undefined) {
    if (!route.config.fifo) throw invalidParameter('MessageDeduplicationId', dedup, 'The request includes a parameter that is not valid for this queue type.');
    out.dedupId = checkDeduplicationId(dedup);
  }
  if (route.config.fifo && out.groupId === undefined) throw missingParameter('MessageGroupId');
  if (route.config.fifo && out.dedupId === undefined && !route.config.contentBasedDeduplication) {
    throw new ConveyorError('InvalidParameterValue', 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly', { parameter: 'MessageDeduplicationId' });
  }
  const system = entry.MessageSystemAttributes as Record<string, { DataType?: string; StringValue?: string }> | undefined;
  if (system !== undefined) {
    if (typeof system !== 'object' || system === null) throw invalidParameter('MessageSystemAttributes', '', 'Must be a map.');
    for (const [key, value] of Object.entries(system)) {
      if (key !== 'AWSTraceHeader') throw new ConveyorError('InvalidParameterValue', `Message system attribute name '${key}' is invalid.`, { parameter: 'MessageSystemAttributes' });
      if (value?.DataType !== 'String' || typeof value.StringValue !== 'string' || value.StringValue.length === 0) {
        throw new ConveyorError('InvalidParameterValue', "Message system attribute 'AWSTraceHeader' must contain a non-empty value of type 'String'.", { parameter: 'MessageSystemAttributes' });
      }
      out.traceHeader = value.StringValue;
    }
  }
  return out;
}

function md5OfTraceHeader(trace: string | undefined): string | undefined {
  return trace === undefined ? undefined : md5OfMessageAttributes({ AWSTraceHeader: { DataType: 'String', StringValue: trace } });
}

/** Sends entries to the cluster taking sends; FIFO retries seen lately are answered from the dedup cache. `name` is the queue id. */
async function send(ctx: ActionContext, name: string, entries: Array<NativeSendEntry & { bytes: number }>) {
  return ctx.router.withRoute(name, async (route) => {
    const keys = new Map(entries.map((e) => [e.id, DedupCache.key(name, route.config, e)]));
    const successful: NativeSendSuccess[] = [];
    const toSend: NativeSendEntry[] = [];
    for (const { bytes: _bytes, ...e } of entries) {
      const hit = ctx.dedup.get(keys.get(e.id));
      if (hit) successful.push({ id: e.id, messageId: hit.messageId, sequenceNumber: hit.sequenceNumber, md5OfBody: md5OfBody(e.body), md5OfAttributes: md5OfMessageAttributes(e.attributes), duplicate: true });
      else toSend.push(e);
    }
    if (toSend.length === 0) return { successful, failed: [] };
    const res = await ctx.router.call(ctx.router.sendTarget(route), 'SendMessageBatch', { queue: name, entries: toSend });
    for (const s of res.successful) if (!s.duplicate) ctx.dedup.remember(keys.get(s.id), { messageId: s.messageId, sequenceNumber: s.sequenceNumber });
    return { successful: [...successful, ...res.successful], failed: res.failed };
  });
}

function wantedSystemAttributes(input: Json, fifo: boolean): Set<string> {
  const names = input.MessageSystemAttributeNames !== undefined ? optionalStringList(input, 'MessageSystemAttributeNames') : optionalStringList(input, 'AttributeNames');
  for (const n of names) if (!SYSTEM_ATTRIBUTES.has(n)) throw new ConveyorError('InvalidAttributeName', `Unknown Attribute ${n}.`, { attribute: n });
  if (names.includes('All')) return new Set(fifo ? [...SYSTEM_ATTRIBUTES].filter((n) => n !== 'All') : SYSTEM_ATTRIBUTES_ON_ALL_STANDARD.concat('AWSTraceHeader', 'DeadLetterQueueSourceArn', 'MessageGroupId'));
  return new Set(names);
}

function messageAttributeFilter(input: Json): (name: string) => boolean {
  const names = optionalStringList(input, 'MessageAttributeNames');
  if (names.includes('All') || names.includes('.*')) return () => true;
  const prefixes = names.filter((n) => n.endsWith('.*')).map((n) => n.slice(0, -1));
  const exact = new Set(names.filter((n) => !n.endsWith('.*')));
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

function toSqsMessage(m: NativeReceivedMessage, clusterId: string, system: Set<string>, keepAttribute: (name: string) => boolean): Json {
  const out: Json = { MessageId: m.messageId, ReceiptHandle: wrapReceiptHandle(clusterId, m.receiptHandle), MD5OfBody: m.md5OfBody, Body: m.body };
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(m.systemAttributes)) if (value !== undefined && system.has(key)) attrs[key] = value;
  if (Object.keys(attrs).length > 0) out.Attributes = attrs;
  if (m.attributes) {
    const kept: MessageAttributes = Object.fromEntries(Object.entries(m.attributes).filter(([k]) => keepAttribute(k)));
    if (Object.keys(kept).length > 0) {
      out.MessageAttributes = toJsonAttributes(kept);
      // SQS's MD5 covers only the attributes it returns.
      out.MD5OfMessageAttributes = md5OfMessageAttributes(kept);
    }
  }
  return out;
}

/** `name` is the queue id. */
async function handles(ctx: ActionContext, name: string, entries: Array<{ id: string; receiptHandle: unknown; visibility?: number }>, action: 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch') {
  const successful: Json[] = [];
  const failed: Json[] = [];
  const byCluster = new Map<string, Array<{ id: string; receiptHandle: string; visibility?: number }>>();
  for (const e of entries) {
    const parsed = unwrapReceiptHandle(e.receiptHandle);
    if (!parsed) {
      failed.push({ Id: e.id, SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: `The input receipt handle "${String(e.receiptHandle)}" is not a valid receipt handle.` });
      continue;
    }
    const entry = { id: e.id, receiptHandle: parsed.handle, visibility: e.visibility };
    const list = byCluster.get(parsed.clusterId);
    if (list) list.push(entry);
    else byCluster.set(parsed.clusterId, [entry]);
  }
  await ctx.router.withRoute(name, async (route) => {
    const known = new Set([route.clusterId, ...(route.move ? [route.move.to] : [])]);
    for (const [clusterId, list] of byCluster) {
      if (!known.has(clusterId)) {
        // Issued by a cluster that no longer holds the queue: the message moved or is gone.
        for (const e of list) {
          if (action === 'DeleteMessageBatch') successful.push({ Id: e.id });
          else failed.push({ Id: e.id, SenderFault: true, Code: 'InvalidParameterValue', Message: `Value ${e.receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.` });
        }
        continue;
      }
      const res =
        action === 'DeleteMessageBatch'
          ? await ctx.router.call(clusterId, 'DeleteMessageBatch', { queue: name, entries: list.map((e) => ({ id: e.id, receiptHandle: e.receiptHandle })) })
          : await ctx.router.call(clusterId, 'ChangeMessageVisibilityBatch', { queue: name, entries: list.map((e) => ({ id: e.id, receiptHandle: e.receiptHandle, visibilityTimeoutSeconds: e.visibility! })) });
      for (const s of res.successful) successful.push({ Id: s.id });
      for (const f of res.failed) failed.push({ Id: f.id, SenderFault: f.senderFault, Code: f.code, Message: f.message });
    }
  });
  return { Successful: successful, Failed: failed };
}

function singleFailure(result: { Failed: Json[] }): void {
  const f = result.Failed[0];
  if (f) throw new ConveyorError(f.Code as never, String(f.Message));
}

function batchEntries(input: Json, entryName: string): Json[] {
  const entries = input.Entries;
  if (entries !== undefined && !Array.isArray(entries)) throw invalidParameter('Entries', '', 'Must be a list.');
  const list = (entries ?? []) as Json[];
  checkBatchEntries(list, entryName);
  return list;
}

export const ACTIONS: Record<string, Handler> = {
  async CreateQueue(input, ctx) {
    const name = requireString(input, 'QueueName');
    const attributes = optionalStringMap(input, 'Attributes');
    await checkQueueAttributes(ctx.router.metadata, ctx.account, attributes);
    const { queue } = await ctx.router.metadata.call<{ queue: { name: string; owner: string } }>('POST', '/v1/queues', {
      name,
      attributes,
      tags: optionalStringMap(input, 'tags'),
      owner: ctx.account,
    });
    return { QueueUrl: url(ctx, queue) };
  },

  async DeleteQueue(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'DeleteQueue', true);
    await ctx.router.metadata.call('DELETE', `/v1/queues/${encodeURIComponent(ref.id)}`);
    ctx.router.metadata.forget(ref.id);
    ctx.dedup.forgetQueue(ref.id);
    return {};
  },

  async GetQueueUrl(input, ctx) {
    const name = requireString(input, 'QueueName');
    const owner = optionalString(input, 'QueueOwnerAWSAccountId') ?? ctx.account;
    const ref = queueRefOf(owner, name);
    const route = await authorizedRoute(ctx.router.metadata, ref, ctx.account, 'GetQueueUrl', true);
    return { QueueUrl: url(ctx, route) };
  },

  async ListQueues(input, ctx) {
    const params = new URLSearchParams({ prefix: optionalString(input, 'QueueNamePrefix') ?? '', owner: ctx.account });
    const max = optionalInteger(input, 'MaxResults');
    if (max !== undefined) params.set('maxResults', String(max));
    const token = optionalString(input, 'NextToken');
    if (token !== undefined) params.set('nextToken', token);
    const { names, nextToken } = await ctx.router.metadata.call<{ names: string[]; nextToken?: string }>('GET', `/v1/queues?${params}`);
    const out: Json = {};
    if (names.length > 0) out.QueueUrls = names.map((n) => queueUrl(ctx.publicUrl, ctx.account, n));
    if (nextToken) out.NextToken = nextToken;
    return out;
  },

  async GetQueueAttributes(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'GetQueueAttributes');
    const wanted = optionalStringList(input, 'AttributeNames');
    const { attributes } = await ctx.router.metadata.call<{ attributes: Record<string, string> }>('GET', `/v1/queues/${encodeURIComponent(ref.id)}/attributes`);
    if (wanted.length === 0) return {};
    const all = wanted.includes('All');
    for (const n of wanted) if (n !== 'All' && !(n in attributes) && !['Policy', 'RedrivePolicy', 'RedriveAllowPolicy', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoQueue', 'FifoThroughputLimit'].includes(n)) {
      throw new ConveyorError('InvalidAttributeName', `Unknown Attribute ${n}.`, { attribute: n });
    }
    return { Attributes: Object.fromEntries(Object.entries(attributes).filter(([k]) => all || wanted.includes(k))) };
  },

  async SetQueueAttributes(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'SetQueueAttributes', true);
    const attributes = optionalStringMap(input, 'Attributes');
    await checkQueueAttributes(ctx.router.metadata, ctx.account, attributes);
    await ctx.router.metadata.call('PATCH', `/v1/queues/${encodeURIComponent(ref.id)}/attributes`, { attributes });
    ctx.router.metadata.forget(ref.id);
    return {};
  },

  async SendMessage(input, ctx) {
    const { ref, route } = await queueFor(input, ctx, 'SendMessage');
    const entry = toSendEntry(input, route, ctx.account);
    const res = await send(ctx, ref.id, [entry]);
    const f = res.failed[0];
    if (f) throw new ConveyorError(f.code as never, f.message);
    const s = res.successful[0]!;
    const out: Json = { MessageId: s.messageId, MD5OfMessageBody: s.md5OfBody };
    if (s.md5OfAttributes) out.MD5OfMessageAttributes = s.md5OfAttributes;
    const traceMd5 = md5OfTraceHeader(entry.traceHeader);
    if (traceMd5) out.MD5OfMessageSystemAttributes = traceMd5;
    if (s.sequenceNumber) out.SequenceNumber = s.sequenceNumber;
    return out;
  },

  async SendMessageBatch(input, ctx) {
    const { ref, route } = await queueFor(input, ctx, 'SendMessage');
    const entries = batchEntries(input, 'SendMessageBatchRequestEntry');
    const good: Array<NativeSendEntry & { bytes: number }> = [];
    const failed: Json[] = [];
    let total = 0;
    for (const e of entries) {
      try {
        const entry = toSendEntry(e, route, ctx.account);
        total += entry.bytes;
        good.push(entry);
      } catch (error) {
        if (!isConveyorError(error)) throw error;
        failed.push({ Id: e.Id, SenderFault: true, Code: error.code, Message: error.message });
      }
    }
    checkBatchSize(total, LIMITS.maxBatchBytes);
    const successful: Json[] = [];
    if (good.length > 0) {
      const res = await send(ctx, ref.id, good);
      const byId = new Map(good.map((g) => [g.id, g]));
      for (const s of res.successful) {
        const entry = byId.get(s.id)!;
        const out: Json = { Id: s.id, MessageId: s.messageId, MD5OfMessageBody: s.md5OfBody };
        if (s.md5OfAttributes) out.MD5OfMessageAttributes = s.md5OfAttributes;
        const traceMd5 = md5OfTraceHeader(entry.traceHeader);
        if (traceMd5) out.MD5OfMessageSystemAttributes = traceMd5;
        if (s.sequenceNumber) out.SequenceNumber = s.sequenceNumber;
        successful.push(out);
      }
      for (const f of res.failed) failed.push({ Id: f.id, SenderFault: f.senderFault, Code: f.code, Message: f.message });
    }
    return { Successful: successful, Failed: failed };
  },

  async ReceiveMessage(input, ctx) {
    const { ref, route } = await queueFor(input, ctx, 'ReceiveMessage');
    const name = ref.id;
    const max = input.MaxNumberOfMessages === undefined ? 1 : checkMaxNumberOfMessages(optionalInteger(input, 'MaxNumberOfMessages'));
    const visibility = optionalInteger(input, 'VisibilityTimeout');
    if (visibility !== undefined) checkVisibilityTimeout(visibility);
    const wait = optionalInteger(input, 'WaitTimeSeconds');
    if (wait !== undefined) checkWaitTimeSeconds(wait);
    const attemptId = optionalString(input, 'ReceiveRequestAttemptId');
    if (attemptId !== undefined) checkReceiveRequestAttemptId(attemptId);
    const system = wantedSystemAttributes(input, route.config.fifo);
    const keep = messageAttributeFilter(input);
    return ctx.router.withRoute(name, async (r) => {
      const sources = ctx.router.receiveSources(r);
      for (const [i, clusterId] of sources.entries()) {
        // Long polls wait at the last source (the leader parks them); earlier ones are only sampled.
        const last = i === sources.length - 1;
        const { messages } = await ctx.router.receive(clusterId, { queue: name, maxMessages: max, visibilityTimeoutSeconds: visibility, waitTimeSeconds: last ? wait : 0, attemptId, systemAttributes: system.size > 0 }, ctx.signal, r.config.fifo);
        if (messages.length > 0) return { Messages: messages.map((m) => toSqsMessage(m, clusterId, system, keep)) };
      }
      return {};
    });
  },

  async DeleteMessage(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'DeleteMessage');
    const handle = requireString(input, 'ReceiptHandle');
    singleFailure(await handles(ctx, ref.id, [{ id: 'single', receiptHandle: handle }], 'DeleteMessageBatch'));
    return {};
  },

  async DeleteMessageBatch(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'DeleteMessage');
    const entries = batchEntries(input, 'DeleteMessageBatchRequestEntry');
    return handles(ctx, ref.id, entries.map((e) => ({ id: e.Id as string, receiptHandle: e.ReceiptHandle })), 'DeleteMessageBatch');
  },

  async ChangeMessageVisibility(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'ChangeMessageVisibility');
    const handle = requireString(input, 'ReceiptHandle');
    const visibility = optionalInteger(input, 'VisibilityTimeout');
    if (visibility === undefined) throw missingParameter('VisibilityTimeout');
    checkVisibilityTimeout(visibility);
    singleFailure(await handles(ctx, ref.id, [{ id: 'single', receiptHandle: handle, visibility }], 'ChangeMessageVisibilityBatch'));
    return {};
  },

  async ChangeMessageVisibilityBatch(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'ChangeMessageVisibility');
    const entries = batchEntries(input, 'ChangeMessageVisibilityBatchRequestEntry');
    const list = entries.map((e) => {
      const visibility = optionalInteger(e, 'VisibilityTimeout');
      return { id: e.Id as string, receiptHandle: e.ReceiptHandle, visibility: visibility ?? -1 };
    });
    return handles(ctx, ref.id, list, 'ChangeMessageVisibilityBatch');
  },

  async PurgeQueue(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'PurgeQueue');
    await ctx.router.withRoute(ref.id, async (route) => {
      for (const clusterId of ctx.router.receiveSources(route)) await ctx.router.call(clusterId, 'PurgeQueue', { queue: ref.id });
    });
    return {};
  },

  async TagQueue(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'TagQueue', true);
    await ctx.router.metadata.call('POST', `/v1/queues/${encodeURIComponent(ref.id)}/tags`, { tags: optionalStringMap(input, 'Tags') });
    return {};
  },

  async UntagQueue(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'UntagQueue', true);
    await ctx.router.metadata.call('DELETE', `/v1/queues/${encodeURIComponent(ref.id)}/tags`, { keys: optionalStringList(input, 'TagKeys') });
    return {};
  },

  async ListQueueTags(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'ListQueueTags');
    const { tags } = await ctx.router.metadata.call<{ tags: Record<string, string> }>('GET', `/v1/queues/${encodeURIComponent(ref.id)}/tags`);
    return Object.keys(tags).length > 0 ? { Tags: tags } : {};
  },

  async ListDeadLetterSourceQueues(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'ListDeadLetterSourceQueues');
    // Only the caller's own sources are listed, filtered by the metadata service before paging.
    const params = new URLSearchParams({ owner: ctx.account });
    const max = optionalInteger(input, 'MaxResults');
    if (max !== undefined) params.set('maxResults', String(max));
    const token = optionalString(input, 'NextToken');
    if (token !== undefined) params.set('nextToken', token);
    const { names, nextToken } = await ctx.router.metadata.call<{ names: string[]; nextToken?: string }>('GET', `/v1/queues/${encodeURIComponent(ref.id)}/dead-letter-sources?${params}`);
    const out: Json = { queueUrls: names.map((id) => queueUrl(ctx.publicUrl, ctx.account, splitQueueId(id).name)) };
    if (nextToken) out.NextToken = nextToken;
    return out;
  },

  // Policy edits are applied by the metadata service under compare-and-set: concurrent grants all survive.
  async AddPermission(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'AddPermission', true);
    const grant = { label: requireString(input, 'Label'), accounts: optionalStringList(input, 'AWSAccountIds'), actions: optionalStringList(input, 'Actions') };
    await ctx.router.metadata.call('POST', `/v1/queues/${encodeURIComponent(ref.id)}/permissions`, grant);
    ctx.router.metadata.forget(ref.id);
    return {};
  },

  async RemovePermission(input, ctx) {
    const { ref } = await queueFor(input, ctx, 'RemovePermission', true);
    await ctx.router.metadata.call('DELETE', `/v1/queues/${encodeURIComponent(ref.id)}/permissions`, { label: requireString(input, 'Label') });
    ctx.router.metadata.forget(ref.id);
    return {};
  },
};

