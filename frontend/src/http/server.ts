/**
 * The frontend's HTTP server: Amazon SQS's JSON protocol (AWS JSON 1.0: `POST` to `/` or to a
 * queue URL's path, `X-Amz-Target: AmazonSQS.<Action>`). Errors are shaped as SQS shapes them:
 * `{"__type": "<shape>", "message": "…"}`, the legacy code in `x-amzn-query-error`, and SQS's
 * HTTP status. Every answer carries `x-amzn-RequestId`. SQS's query protocol (form-encoded, XML
 * answers) is served on the same paths (query-routes.ts); rate limits, load shedding and metrics
 * wrap every call (traffic-guard.ts, observe.ts). Every request but the probes is authenticated
 * first (SigV4, auth/authenticate.ts); handlers act for the verified account.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { ConveyorError } from '@conveyor/client-sdk';
import type { Json } from '../sqs/shapes.ts';
import type { Router } from '../upstream/router.ts';
import { registerNativeRoutes } from './native-routes.ts';
import { DedupCache } from '../core/dedup-cache.ts';
// Query protocol, limits and metrics (each in its own module).
import { FrontendMetrics } from '../observability/metrics.ts';
import { JSON_CONTENT_TYPE, sendErrorFor } from './error-replies.ts';
import { createInvoke } from './invoke.ts';
import { registerObservability } from './observe.ts';
import { isQueryRequest, registerQueryRoutes, serveQuery } from './query-routes.ts';
import { TrafficGuard, registerTrafficGuard, resolveTrafficConfig, type TrafficConfig } from './traffic-guard.ts';
import './raw-body.ts';
// ---- authentication (auth/): SigV4 on every request, the caller's account per request
import type { AccessKeys } from '../auth/access-keys.ts';
import { callerAccount, registerAuthentication } from '../auth/authenticate.ts';

export interface FrontendOptions {
  router: Router;
  publicUrl: string;
  /** The caller's account when authentication is off (`keys` undefined). */
  account: string;
  /** Accepted access keys; undefined means authentication is off (`--no-auth`). */
  keys: AccessKeys | undefined;
  /** Region of the signatures' credential scope (default us-east-1). */
  region?: string;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Proxies (addresses or CIDR ranges) whose X-Forwarded-Proto and X-Forwarded-For are believed:
   * behind one that terminates TLS, requests that reached it over HTTPS count as such (an
   * UNSIGNED-PAYLOAD signature is accepted only over HTTPS). None by default.
   */
  trustProxy?: string[];
  logger: FastifyBaseLogger | false;
  /** Recent FIFO sends, so retries are answered here; one per process. */
  dedup?: DedupCache;
  /** Bodies up to this size are read (so an oversized message gets SQS's own error); larger ones are refused early. */
  bodyLimitBytes?: number;
  /** Prometheus metrics (also given to the router, for backend round trips); one per process. */
  metrics?: FrontendMetrics;
  /** Rate limits and load shedding; unset fields take TRAFFIC_DEFAULTS. */
  traffic?: Partial<TrafficConfig>;
}

export function buildFrontend(options: FrontendOptions): FastifyInstance {
  const dedup = options.dedup ?? new DedupCache();
  // One log line per request, carrying the id returned as x-amzn-RequestId (observe.ts).
  const common = { bodyLimit: options.bodyLimitBytes ?? 4 * 1024 * 1024, genReqId: () => randomUUID(), logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }), ...(options.tls ? { https: options.tls } : {}), ...(options.trustProxy?.length ? { trustProxy: options.trustProxy } : {}) };
  const app = (options.logger ? Fastify({ ...common, loggerInstance: options.logger }) : Fastify({ ...common, logger: false })) as unknown as FastifyInstance;

  for (const type of [JSON_CONTENT_TYPE, 'application/json']) {
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (req, raw, done) => {
      req.rawBody = raw as Buffer; // the signature covers these exact bytes
      const body = req.rawBody.toString('utf8');
      try {
        const parsed: unknown = body.length === 0 ? {} : JSON.parse(body);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        done(null, parsed);
      } catch {
        done(new ConveyorError('InvalidParameterValue', 'The request body is not a valid JSON object.'), undefined);
      }
    });
  }
  // Anything else is read as text and refused with a clear error below.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, raw, done) => {
    req.rawBody = raw as Buffer;
    done(null, req.rawBody.toString('utf8'));
  });

  // Hooks on every request take callbacks: no promise per hook per request.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-amzn-RequestId', request.id);
    done(null, payload);
  });

  const metrics = options.metrics ?? new FrontendMetrics();
  const guard = new TrafficGuard(resolveTrafficConfig(options.traffic), metrics);
  const invoke = createInvoke({ router: options.router, dedup, publicUrl: options.publicUrl, guard });
  // Answers an error in the request's protocol (JSON, query XML or native msgpack).
  const sendError = (reply: FastifyReply, error: ConveyorError): FastifyReply => sendErrorFor(reply.request, reply, error);

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ConveyorError) return sendError(reply, error);
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 413) return sendError(reply, new ConveyorError('InvalidParameterValue', `The request body is larger than ${common.bodyLimit} bytes.`));
    if (status && status >= 400 && status < 500) return sendError(reply, new ConveyorError('InvalidParameterValue', (error as Error).message));
    request.log.error({ err: error }, 'internal failure');
    return sendError(reply, new ConveyorError('InternalFailure', `Internal failure (request ${request.id}).`));
  });

  app.get('/health', async () => ({ ok: true }));
  registerObservability(app, metrics);
  // Authentication's preHandler runs before the rate limits', so limits count verified keys.
  registerAuthentication(app, { keys: options.keys, region: options.region, defaultAccount: options.account });
  registerTrafficGuard(app, guard);
  registerQueryRoutes(app, invoke);
  registerNativeRoutes(app, options.router, dedup, callerAccount);

  app.post('/*', async (request, reply) => {
    if (isQueryRequest(request)) return serveQuery(request, reply, invoke);
    const target = request.headers['x-amz-target'];
    const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (typeof target !== 'string' || !target.startsWith('AmazonSQS.')) {
      throw new ConveyorError('InvalidAction', 'Missing or malformed X-Amz-Target header: expected AmazonSQS.<Action>.');
    }
    if (contentType !== JSON_CONTENT_TYPE && contentType !== 'application/json') {
      throw new ConveyorError('InvalidParameterValue', `Unsupported content type "${contentType}": expected ${JSON_CONTENT_TYPE}.`);
    }
    const result = await invoke(target.slice('AmazonSQS.'.length), request.body as Json, request, reply);
    return reply.header('content-type', JSON_CONTENT_TYPE).send(JSON.stringify(result));
  });
  // ---- unknown paths: answered in SQS's shape (InvalidAddress), in the request's protocol, after authentication
  app.setNotFoundHandler(async (request) => {
    const path = request.url.split('?')[0]!.slice(0, 256);
    throw new ConveyorError('InvalidAddress', `The address ${path} is not valid for this endpoint.`);
  });
  return app;
}
