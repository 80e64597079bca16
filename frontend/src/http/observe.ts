/**
 * Per-request observability: `GET /metrics` (Prometheus text), and for every SQS or native call
 * the request counter, the error counter and the latency histogram by action and protocol, and
 * one structured log line carrying the request id (the one returned as x-amzn-RequestId):
 * at debug for successes and for throttled or shed requests (a flood must not flood the logs),
 * info for other 4xx, error for 5xx.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { NATIVE_ACTIONS, decodeNative } from '@conveyor/client-sdk';
import type { FrontendMetrics } from '../observability/metrics.ts';
import { describeCall, isServiceRoute } from './call-info.ts';
import { HANDLERS } from './invoke.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The frontend's metrics, for code that counts from hooks (e.g. authentication failures). */
    conveyorMetrics: FrontendMetrics;
  }
}

/** One refused request by authentication or authorization (reason: e.g. `missing`, `signature`, `expired`, `denied`). */
export function countAuthFailure(request: FastifyRequest, reason: string): void {
  request.server.conveyorMetrics.authFailures.inc({ reason });
}

/** pino levels at which debug lines are dropped. */
const DEBUG_OFF = new Set(['info', 'warn', 'error', 'fatal', 'silent']);

// Built on first use: invoke.ts (HANDLERS) reaches this module through auth/, so it may not be initialized yet at import.
let knownActions: Set<string> | undefined;

/** Action label values are bounded: names not served here count as `unknown`. */
function actionLabel(action: string | undefined): string {
  knownActions ??= new Set([...Object.keys(HANDLERS), ...NATIVE_ACTIONS]);
  return action !== undefined && knownActions.has(action) ? action : 'unknown';
}

export function registerObservability(app: FastifyInstance, metrics: FrontendMetrics): void {
  app.decorate('conveyorMetrics', metrics);
  app.get('/metrics', async (_request, reply) => {
    for (const update of metrics.beforeScrape) update();
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  // Native handlers answer their own errors; read the code back from the msgpack body.
  app.addHook('onSend', (request, reply, payload, done) => {
    const call = request.sqsCall;
    if (call?.protocol === 'native' && reply.statusCode >= 400 && call.errorCode === undefined && Buffer.isBuffer(payload)) {
      try {
        const decoded = decodeNative(payload) as { error?: { code?: unknown } };
        if (typeof decoded.error?.code === 'string') call.errorCode = decoded.error.code;
      } catch {
        // Not msgpack: the status alone is counted.
      }
    }
    done(null, payload);
  });

  app.addHook('onResponse', (request, reply, done) => {
    countAndLog(metrics, request, reply);
    done();
  });
}

/** The request's metrics, and its log line when its level is on. */
function countAndLog(metrics: FrontendMetrics, request: FastifyRequest, reply: FastifyReply): void {
  if (isServiceRoute(request)) return;
  const call = describeCall(request);
  const labels = { action: actionLabel(call.action), protocol: call.protocol };
  const status = reply.statusCode;
  const seconds = reply.elapsedTime / 1000;
  metrics.requests.inc({ ...labels, status: String(status) });
  metrics.latency.observe(labels, seconds);
  const code = status >= 400 ? (call.errorCode ?? `HTTP${status}`) : undefined;
  if (code !== undefined) metrics.errors.inc({ ...labels, code });
  // Successes and guarded refusals log at debug: build no line when that level is off.
  const quiet = call.guarded || status < 400;
  if (quiet && DEBUG_OFF.has(request.log.level)) return;
  const line = { action: labels.action, protocol: call.protocol, queue: call.queue, status, code, ms: Math.round(reply.elapsedTime * 10) / 10 };
  if (call.guarded) request.log.debug(line, 'request throttled or shed');
  else if (status >= 500) request.log.error(line, 'request failed');
  else if (status >= 400) request.log.info(line, 'request refused');
  else request.log.debug(line, 'request');
}
