/**
 * The backend node's HTTP server (fastify): the native msgpack API for queue operations, the
 * replication endpoints, status/health as JSON and Prometheus metrics.
 */
import { Readable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { ConveyorError, NATIVE_CONTENT_TYPE, decodeNative, encodeNative, encodeNativeInternal, encodeReceiveAnswer, encodeBatchAnswer, isBatchAction, type NativeActions, type NativeError } from '@conveyor/client-sdk/wire';
import type { ReplicaNode } from '../node/replica-node.ts';
import type { FetchRequest } from '../replication/types.ts';
import { encodeSnapshotItem } from '../storage/replication-store.ts';
import { dispatchNative, isNativeAction } from './native-routes.ts';

export interface ServerOptions {
  /** A pino logger to use, or false for none. */
  logger: FastifyBaseLogger | false;
  /** Largest request body accepted (bytes). Native batches can be large. */
  bodyLimit?: number;
}

function sendError(reply: FastifyReply, error: ConveyorError): FastifyReply {
  const body: NativeError = { error: { code: error.code, message: error.message, context: error.context } };
  return reply.code(error.status).header('content-type', NATIVE_CONTENT_TYPE).send(encodeNative(body));
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= -1;
}

/** Checks a fetch request's shape; malformed ones never reach the replication code. */
function checkFetchRequest(body: unknown): FetchRequest {
  const req = body as Partial<FetchRequest> | null;
  const ok =
    req !== null &&
    typeof req === 'object' &&
    typeof req.clusterId === 'string' &&
    typeof req.followerId === 'string' &&
    req.followerId.length > 0 &&
    isNonNegativeInteger(req.epoch) &&
    isNonNegativeInteger(req.fetchOffset) &&
    req.fetchOffset >= 0 &&
    isNonNegativeInteger(req.lastFetchedEpoch) &&
    isNonNegativeInteger(req.appliedEnd) &&
    req.appliedEnd >= 0 &&
    (req.maxWaitMs === undefined || (isNonNegativeInteger(req.maxWaitMs) && req.maxWaitMs <= 30_000));
  if (!ok) throw new ConveyorError('InvalidParameterValue', 'Malformed fetch request: expected clusterId, followerId, epoch, fetchOffset, lastFetchedEpoch, appliedEnd (integers >= 0) and maxWaitMs <= 30000.');
  return req as FetchRequest;
}

export function buildServer(node: ReplicaNode, options: ServerOptions): FastifyInstance {
  const common = { bodyLimit: options.bodyLimit ?? 64 * 1024 * 1024 };
  const app = (options.logger ? Fastify({ ...common, loggerInstance: options.logger }) : Fastify({ ...common, logger: false })) as unknown as FastifyInstance;

  app.addContentTypeParser(NATIVE_CONTENT_TYPE, { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, decodeNative(body as Buffer));
    } catch {
      done(new ConveyorError('InvalidParameterValue', 'The request body is not valid msgpack.'), undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ConveyorError) return sendError(reply, error);
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return sendError(reply, new ConveyorError('InvalidParameterValue', (error as Error).message));
    request.log.error({ err: error }, 'internal failure');
    return sendError(reply, new ConveyorError('InternalFailure', `Internal failure (request ${request.id}).`));
  });

  app.post<{ Params: { action: string } }>('/native/:action', async (request, reply) => {
    const { action } = request.params;
    if (!isNativeAction(action)) throw new ConveyorError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
    // Only a long poll needs to hear that its client went away (and ending it early is all it does).
    const body = request.body as { waitTimeSeconds?: unknown } | undefined;
    let signal: AbortSignal | undefined;
    if (action === 'ReceiveMessage' && typeof body?.waitTimeSeconds === 'number' && body.waitTimeSeconds > 0) {
      const abort = new AbortController();
      signal = abort.signal;
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
    }
    const result = await dispatchNative(action, node.engine(), request.body, signal);
    // The answers written for every message (receives carry the bodies) have writers of their own.
    const encoded =
      action === 'ReceiveMessage' ? encodeReceiveAnswer((result as NativeActions['ReceiveMessage']['response']).messages, true)
      : isBatchAction(action) ? encodeBatchAnswer(result as NativeActions[typeof action]['response'], true)
      : encodeNativeInternal(result);
    return reply.header('content-type', NATIVE_CONTENT_TYPE).send(encoded);
  });

  app.post('/replication/fetch', async (request, reply) => {
    const response = await node.handleFetch(checkFetchRequest(request.body));
    return reply.header('content-type', NATIVE_CONTENT_TYPE).send(encodeNativeInternal(response));
  });

  app.get('/replication/snapshot', async (_request, reply) => {
    const items = node.snapshot();
    const stream = Readable.from(
      (async function* () {
        for await (const item of items) {
          const payload = encodeSnapshotItem(item);
          const frame = Buffer.allocUnsafe(4 + payload.length);
          frame.writeUInt32BE(payload.length, 0);
          payload.copy(frame, 4);
          yield frame;
        }
      })(),
    );
    return reply.header('content-type', 'application/octet-stream').send(stream);
  });

  // Operator action (the local launcher's drain and rolling restart): hand leadership to another in-sync node.
  app.post('/admin/handoff', async () => node.handOff());
  app.get('/status', async () => node.status());
  app.get('/metrics', async (_request, reply) => reply.header('content-type', node.metrics.contentType).send(await node.metrics.scrape()));
  app.get('/health', async () => ({ ok: true }));
  return app;
}
