/**
 * The native API's actions, dispatched to the engine. Request shapes are checked here (strings,
 * arrays, objects) so nothing malformed reaches the engine; the engine checks SQS's rules.
 */
import { ConveyorError, LIMITS, MAX_NATIVE_BATCH, formatQueueConfig, type NativeAction, type NativeActions } from '@conveyor/client-sdk/wire';
import type { QueueEngine } from '../engine/engine.ts';

type Handler<A extends NativeAction> = (engine: QueueEngine, req: NativeActions[A]['request'], signal: AbortSignal | undefined) => Promise<NativeActions[A]['response']>;

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConveyorError('MissingParameter', `The request must contain the parameter ${name}.`, { parameter: name });
  return value;
}

function requireArray<T>(value: unknown, name: string): T[] {
  if (!Array.isArray(value)) throw new ConveyorError('MissingParameter', `The request must contain the parameter ${name} (a list).`, { parameter: name });
  return value as T[];
}

function optionalStringMap(value: unknown, name: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConveyorError('InvalidParameterValue', `${name} must be a map of strings.`, { parameter: name });
  return value as Record<string, string>;
}

function optionalNumber(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw new ConveyorError('InvalidParameterValue', `Value ${String(value)} for parameter ${name} is invalid. Reason: Must be a number.`, { parameter: name });
  return value;
}

/** Native batches may be larger than SQS's 10 when the SDK asks, up to MAX_NATIVE_BATCH. */
function maxEntries(value: unknown): number {
  const n = optionalNumber(value, 'maxEntries') ?? LIMITS.maxBatchEntries;
  if (!Number.isInteger(n) || n < 1 || n > MAX_NATIVE_BATCH) throw new ConveyorError('InvalidParameterValue', `maxEntries must be between 1 and ${MAX_NATIVE_BATCH}.`, { parameter: 'maxEntries' });
  return n;
}

const handlers: { [A in NativeAction]: Handler<A> } = {
  async CreateQueue(engine, req) {
    const arn = typeof req.arn === 'string' && /^arn:[\w-]+:sqs:[\w-]*:\w*:[\w.-]+$/.test(req.arn) ? req.arn : undefined;
    const record = await engine.createQueue(requireString(req.queue, 'queue'), optionalStringMap(req.attributes, 'attributes'), arn);
    return { queue: record.name, arn: record.arn };
  },
  async DeleteQueue(engine, req) {
    await engine.deleteQueue(requireString(req.queue, 'queue'));
    return {};
  },
  async SetQueueAttributes(engine, req) {
    await engine.setQueueAttributes(requireString(req.queue, 'queue'), optionalStringMap(req.attributes, 'attributes'));
    return {};
  },
  async GetQueue(engine, req) {
    const d = await engine.describeQueue(requireString(req.queue, 'queue'));
    return { name: d.name, arn: d.arn, createdAt: d.createdAt, lastModifiedAt: d.lastModifiedAt, attributes: formatQueueConfig(d.config), counts: d.counts };
  },
  async ListQueues(engine, req) {
    return { queues: engine.listQueues(typeof req?.prefix === 'string' ? req.prefix : '') };
  },
  async SendMessageBatch(engine, req) {
    const result = await engine.sendMessageBatch(requireString(req.queue, 'queue'), requireArray(req.entries, 'entries'), maxEntries(req.maxEntries));
    return {
      successful: result.successful.map((s) => ({ id: s.id, messageId: s.messageId, md5OfBody: s.md5OfBody, md5OfAttributes: s.md5OfAttributes, sequenceNumber: s.sequenceNumber, duplicate: s.duplicate || undefined })),
      failed: result.failed,
    };
  },
  async ReceiveMessage(engine, req, signal) {
    const messages = await engine.receiveMessage(requireString(req.queue, 'queue'), {
      maxMessages: optionalNumber(req.maxMessages, 'maxMessages'),
      // The native API receives up to a batch's worth at once (the SQS protocols keep 10).
      maxMessagesLimit: MAX_NATIVE_BATCH,
      visibilityTimeoutSeconds: optionalNumber(req.visibilityTimeoutSeconds, 'visibilityTimeoutSeconds'),
      waitTimeSeconds: optionalNumber(req.waitTimeSeconds, 'waitTimeSeconds'),
      attemptId: typeof req.attemptId === 'string' ? req.attemptId : undefined,
      systemAttributes: req.systemAttributes !== false,
      // Bodies stay as their send records encode them: the answer copies the bytes.
      encodedBodies: true,
      signal,
    });
    return { messages };
  },
  async DeleteMessageBatch(engine, req) {
    return engine.deleteMessageBatch(requireString(req.queue, 'queue'), requireArray(req.entries, 'entries'), maxEntries(req.maxEntries));
  },
  async ChangeMessageVisibilityBatch(engine, req) {
    return engine.changeMessageVisibilityBatch(requireString(req.queue, 'queue'), requireArray(req.entries, 'entries'), maxEntries(req.maxEntries));
  },
  async PurgeQueue(engine, req) {
    await engine.purgeQueue(requireString(req.queue, 'queue'));
    return {};
  },
  async SealQueue(engine, req) {
    await engine.sealQueue(requireString(req.queue, 'queue'), requireString(req.movedTo, 'movedTo'));
    return {};
  },
};

export function isNativeAction(name: string): name is NativeAction {
  return Object.hasOwn(handlers, name);
}

export function dispatchNative(action: NativeAction, engine: QueueEngine, request: unknown, signal: AbortSignal | undefined): Promise<unknown> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new ConveyorError('InvalidParameterValue', 'The request body must be a msgpack map.', { action });
  }
  return (handlers[action] as Handler<NativeAction>)(engine, request as never, signal);
}
