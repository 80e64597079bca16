/**
 * The native API on the frontend (`POST /native/<Action>`, msgpack): the same actions the backend
 * nodes serve, routed to the cluster that holds the queue, with batches larger than SQS's 10
 * when the caller asks (`maxEntries`, up to 1,000). Receipt handles name their cluster, as on the
 * JSON protocol. Queue administration goes through the metadata service. `queue` is a name in
 * the caller's account or `<account>:<name>`; access is checked as on the JSON protocol.
 */
import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyRequest, preParsingHookHandler } from 'fastify';
import './raw-body.ts';
import { ConveyorError, NATIVE_CONTENT_TYPE, acceptsNativeRecords, decodeNative, encodeNative, encodeNativeInternal, encodeReceiveAnswer, encodeBatchAnswer, isBatchAction, formatQueueConfig, md5OfBody, md5OfMessageAttributes, type NativeAction, type NativeActions, type NativeError, type NativeSendEntry, type NativeSendSuccess } from '@conveyor/client-sdk';
import { DedupCache } from '../core/dedup-cache.ts';
import { unwrapReceiptHandle, wrapReceiptHandle, type Router } from '../upstream/router.ts';
import { authorizedRoute, checkQueueAttributes, queueRefFromId, type QueueRef } from '../auth/queue-access.ts';
import type { QueueRoute } from '../upstream/metadata-client.ts';

type Request<A extends NativeAction> = NativeActions[A]['request'];

function queueOf(body: unknown): string {
  const queue = (body as { queue?: unknown } | null)?.queue;
  if (typeof queue !== 'string' || queue.length === 0) throw new ConveyorError('MissingParameter', 'The request must contain the parameter queue.', { parameter: 'queue' });
  return queue;
}

/** The queue a request names, if the caller may do `action` on it (QueueDoesNotExist otherwise). */
async function access(router: Router, req: unknown, caller: string, action: string, refresh = false): Promise<{ ref: QueueRef; route: QueueRoute }> {
  const ref = queueRefFromId(queueOf(req), caller);
  return { ref, route: await authorizedRoute(router.metadata, ref, caller, action, refresh) };
}

/**
 * A send entry as the backend gets it: the frontend's idempotency key and a client's redrive key
 * dropped, SenderId the verified caller. Spelled out: V8 takes a slow path (~0.6 µs per entry)
 * to add a property to a spread copy.
 */
function forwardedEntry(e: NativeSendEntry, senderId: string): NativeSendEntry {
  const out: NativeSendEntry = { id: e.id, body: e.body };
  if (e.attributes !== undefined) out.attributes = e.attributes;
  if (e.delaySeconds !== undefined) out.delaySeconds = e.delaySeconds;
  if (e.groupId !== undefined) out.groupId = e.groupId;
  if (e.dedupId !== undefined) out.dedupId = e.dedupId;
  if (e.traceHeader !== undefined) out.traceHeader = e.traceHeader;
  out.senderId = senderId;
  return out;
}

async function byHandles(router: Router, action: 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch', req: Request<'DeleteMessageBatch'> | Request<'ChangeMessageVisibilityBatch'>, caller: string) {
  const queue = (await access(router, req, caller, action === 'DeleteMessageBatch' ? 'DeleteMessage' : 'ChangeMessageVisibility')).ref.id;
  if (!Array.isArray(req.entries)) throw new ConveyorError('MissingParameter', 'The request must contain the parameter entries (a list).', { parameter: 'entries' });
  const successful: Array<{ id: string }> = [];
  const failed: NativeActions['DeleteMessageBatch']['response']['failed'] = [];
  const groups = new Map<string, Array<(typeof req.entries)[number]>>();
  for (const e of req.entries) {
    const parsed = unwrapReceiptHandle(e?.receiptHandle);
    if (!parsed) {
      failed.push({ id: String(e?.id), code: 'ReceiptHandleIsInvalid', message: `The input receipt handle "${String(e?.receiptHandle)}" is not a valid receipt handle.`, senderFault: true });
      continue;
    }
    const entry = { ...e, receiptHandle: parsed.handle };
    const group = groups.get(parsed.clusterId);
    if (group) group.push(entry);
    else groups.set(parsed.clusterId, [entry]);
  }
  for (const [clusterId, entries] of groups) {
    const res = await router.call(clusterId, action, { ...req, queue, entries } as never);
    successful.push(...res.successful);
    failed.push(...res.failed);
  }
  return { successful, failed };
}

const HANDLERS: { [A in NativeAction]?: (router: Router, req: Request<A>, dedup: DedupCache, caller: string) => Promise<NativeActions[A]['response']> } = {
  async CreateQueue(router, req, _dedup, caller) {
    const attributes = req.attributes ?? {};
    await checkQueueAttributes(router.metadata, caller, attributes);
    const { queue } = await router.metadata.call<{ queue: { name: string; arn: string } }>('POST', '/v1/queues', { name: queueOf(req), attributes, owner: caller });
    return { queue: queue.name, arn: queue.arn };
  },
  async DeleteQueue(router, req, dedup, caller) {
    const { ref } = await access(router, req, caller, 'DeleteQueue', true);
    await router.metadata.call('DELETE', `/v1/queues/${encodeURIComponent(ref.id)}`);
    router.metadata.forget(ref.id);
    dedup.forgetQueue(ref.id);
    return {};
  },
  async SetQueueAttributes(router, req, _dedup, caller) {
    const { ref } = await access(router, req, caller, 'SetQueueAttributes', true);
    const attributes = req.attributes ?? {};
    await checkQueueAttributes(router.metadata, caller, attributes);
    await router.metadata.call('PATCH', `/v1/queues/${encodeURIComponent(ref.id)}/attributes`, { attributes });
    router.metadata.forget(ref.id);
    return {};
  },
  async GetQueue(router, req, _dedup, caller) {
    const { ref, route } = await access(router, req, caller, 'GetQueueAttributes', true);
    const info = await router.call(route.clusterId, 'GetQueue', { queue: ref.id });
    return { ...info, name: ref.name, attributes: { ...formatQueueConfig(route.config), ...route.extraAttributes } };
  },
  async ListQueues(router, req, _dedup, caller) {
    const params = new URLSearchParams({ prefix: req?.prefix ?? '', owner: caller });
    const { names } = await router.metadata.call<{ names: string[] }>('GET', `/v1/queues?${params}`);
    return { queues: names };
  },
  async SendMessageBatch(router, req, dedup, caller) {
    const queue = (await access(router, req, caller, 'SendMessage')).ref.id;
    if (!Array.isArray(req.entries)) throw new ConveyorError('MissingParameter', 'The request must contain the parameter entries (a list).', { parameter: 'entries' });
    return router.withRoute(queue, async (route) => {
      // Retries answered from the cache: FIFO by deduplication key, standard by idempotency key.
      const keyOf = (e: NativeSendEntry): string | undefined =>
        route.config.fifo ? DedupCache.key(queue, route.config, e) : typeof e.idempotencyKey === 'string' && e.idempotencyKey.length > 0 ? `${queue}\u0000idem ${e.idempotencyKey}` : undefined;
      const successful: NativeSendSuccess[] = [];
      const toSend: NativeSendEntry[] = [];
      // Each entry's cache key, built (and hashed) once: by entry id, the first entry of an id.
      const keyById = new Map<string, string | undefined>();
      for (const e of req.entries) {
        const key = keyOf(e);
        const hit = dedup.get(key);
        if (hit) successful.push({ id: e.id, messageId: hit.messageId, sequenceNumber: hit.sequenceNumber, md5OfBody: md5OfBody(e.body), md5OfAttributes: md5OfMessageAttributes(e.attributes), duplicate: true });
        else {
          toSend.push(e);
          if (!keyById.has(e.id)) keyById.set(e.id, key);
        }
      }
      if (toSend.length === 0) return { successful, failed: [] };
      // SenderId is the verified caller, whatever the entry says.
      const res = await router.call(router.sendTarget(route), 'SendMessageBatch', { ...req, queue, entries: toSend.map((e) => forwardedEntry(e, caller)) });
      for (const s of res.successful) if (!s.duplicate) dedup.remember(keyById.get(s.id), { messageId: s.messageId, sequenceNumber: s.sequenceNumber });
      if (successful.length === 0) return res;
      for (const s of res.successful) successful.push(s);
      return { successful, failed: res.failed };
    });
  },
  async ReceiveMessage(router, req, _dedup, caller) {
    const queue = (await access(router, req, caller, 'ReceiveMessage')).ref.id;
    return router.withRoute(queue, async (route) => {
      const sources = router.receiveSources(route);
      for (const [i, clusterId] of sources.entries()) {
        const res = await router.receive(clusterId, { ...req, queue, waitTimeSeconds: i === sources.length - 1 ? req.waitTimeSeconds : 0 }, undefined, route.config.fifo);
        if (res.messages.length > 0) {
          // Freshly decoded and ours alone: the handles are wrapped in place.
          for (const m of res.messages) m.receiptHandle = wrapReceiptHandle(clusterId, m.receiptHandle);
          return { messages: res.messages };
        }
      }
      return { messages: [] };
    });
  },
  DeleteMessageBatch: (router, req, _dedup, caller) => byHandles(router, 'DeleteMessageBatch', req, caller),
  ChangeMessageVisibilityBatch: (router, req, _dedup, caller) => byHandles(router, 'ChangeMessageVisibilityBatch', req, caller),
  async PurgeQueue(router, req, _dedup, caller) {
    const queue = (await access(router, req, caller, 'PurgeQueue')).ref.id;
    await router.withRoute(queue, async (route) => {
      for (const clusterId of router.receiveSources(route)) await router.call(clusterId, 'PurgeQueue', { queue });
    });
    return {};
  },
};

/**
 * `content-encoding: gzip` request bodies (the SDK compresses large batches when asked) are
 * inflated before parsing; the body limit then applies to the inflated size. Fastify compares the
 * Content-Length with the bytes received on the wire, so the stream reports those. The signature
 * covers the bytes as sent, so those are kept as the raw body.
 */
const gunzipBody: preParsingHookHandler = async (request, _reply, payload) => {
  const encoding = request.headers['content-encoding'];
  if (encoding === undefined || encoding === 'identity') return payload;
  if (encoding !== 'gzip') throw new ConveyorError('InvalidParameterValue', `Unsupported content-encoding "${String(encoding)}": only gzip is accepted.`);
  const inflated = Object.assign(createGunzip(), { receivedEncodedLength: 0 });
  const sent: Buffer[] = [];
  payload.on('data', (chunk: Buffer) => {
    inflated.receivedEncodedLength += chunk.length;
    sent.push(chunk);
  });
  payload.on('end', () => (request.rawBody = Buffer.concat(sent)));
  payload.on('error', (error) => inflated.destroy(error));
  return payload.pipe(inflated);
};

export function registerNativeRoutes(app: FastifyInstance, router: Router, dedup: DedupCache, callerOf: (request: FastifyRequest) => string): void {
  app.addContentTypeParser(NATIVE_CONTENT_TYPE, { parseAs: 'buffer' }, (req, body, done) => {
    req.rawBody ??= body as Buffer; // already the compressed bytes for a gzip body
    try {
      done(null, decodeNative(body as Buffer));
    } catch {
      done(new ConveyorError('InvalidParameterValue', 'The request body is not valid msgpack.'), undefined);
    }
  });
  app.post<{ Params: { action: string } }>('/native/:action', { preParsing: gunzipBody }, async (request, reply) => {
    const { action } = request.params;
    const handler = Object.hasOwn(HANDLERS, action) ? (HANDLERS as Record<string, (r: Router, b: unknown, d: DedupCache, caller: string) => Promise<unknown>>)[action] : undefined;
    try {
      if (!handler) throw new ConveyorError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
      if (typeof request.body !== 'object' || request.body === null || Array.isArray(request.body)) throw new ConveyorError('InvalidParameterValue', 'The request body must be a msgpack map.');
      const result = await handler(router, request.body, dedup, callerOf(request));
      const records = acceptsNativeRecords(request.headers.accept);
      // The answers written for every message (receives carry the bodies) have writers of their own.
      const encoded =
        action === 'ReceiveMessage' ? encodeReceiveAnswer((result as NativeActions['ReceiveMessage']['response']).messages, records)
        : isBatchAction(action) ? encodeBatchAnswer(result as NativeActions[typeof action]['response'], records)
        : records ? encodeNativeInternal(result) : encodeNative(result);
      return reply.header('content-type', NATIVE_CONTENT_TYPE).send(encoded);
    } catch (error) {
      if (!(error instanceof ConveyorError)) throw error;
      const body: NativeError = { error: { code: error.code, message: error.message, context: error.context } };
      return reply.code(error.status).header('content-type', NATIVE_CONTENT_TYPE).send(encodeNative(body));
    }
  });
}
