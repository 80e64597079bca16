/**
 * Throttling and load shedding at the public door.
 * - Rate limits: a token bucket per access key and per queue (core/rate-limiter.ts); a request
 *   over either gets SQS's RequestThrottled (HTTP 400, retryable) with Retry-After.
 * - Load shedding, 503 ServiceUnavailable with Retry-After: when more than `maxInFlight` requests
 *   are in flight, more than `maxLongPolls` long polls are parked, or the event loop lags by more
 *   than `maxEventLoopDelayMs` (@fastify/under-pressure samples it).
 * /health and /metrics are never limited or shed.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import { ConveyorError } from '@conveyor/client-sdk';
import { Admission } from '../core/admission.ts';
import { RateLimiter } from '../core/rate-limiter.ts';
import type { FrontendMetrics, ShedReason } from '../observability/metrics.ts';
import { callerAccessKey, describeCall, isServiceRoute } from './call-info.ts';

export interface TrafficConfig {
  /** Requests per second per access key (0 = unlimited), and the burst a key may spend at once. */
  readonly keyRatePerSecond: number;
  readonly keyBurst: number;
  /** Requests per second per queue, over every caller (0 = unlimited), and its burst. */
  readonly queueRatePerSecond: number;
  readonly queueBurst: number;
  /** Most token buckets kept per table (keys, queues): bounds the limiter's memory. */
  readonly maxTrackedBuckets: number;
  /** Requests in flight (long polls not counted) before new ones are shed. */
  readonly maxInFlight: number;
  /** Long polls parked before new ones are shed. */
  readonly maxLongPolls: number;
  /** Mean event-loop delay over a 1 s sample beyond which requests are shed (0 = never). */
  readonly maxEventLoopDelayMs: number;
  /** What Retry-After says when load is shed. */
  readonly shedRetryAfterSeconds: number;
}

/** Generous enough that normal use and the benchmarks never meet them. */
export const TRAFFIC_DEFAULTS: TrafficConfig = Object.freeze({
  keyRatePerSecond: 10_000,
  keyBurst: 20_000,
  queueRatePerSecond: 10_000,
  queueBurst: 20_000,
  maxTrackedBuckets: 10_000,
  maxInFlight: 4_096,
  maxLongPolls: 20_000,
  maxEventLoopDelayMs: 1_000,
  shedRetryAfterSeconds: 1,
});

/** Checks a partial config against the defaults; names the bad field. */
export function resolveTrafficConfig(partial: Partial<TrafficConfig> = {}): TrafficConfig {
  const config = { ...TRAFFIC_DEFAULTS, ...partial };
  for (const [name, value] of Object.entries(config)) {
    if (!Object.hasOwn(TRAFFIC_DEFAULTS, name)) throw new RangeError(`unknown traffic option ${name}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number >= 0 (got ${String(value)})`);
  }
  for (const name of ['maxTrackedBuckets', 'maxInFlight', 'keyBurst', 'queueBurst'] as const) {
    if (config[name] < 1) throw new RangeError(`${name} must be at least 1 (got ${config[name]})`);
  }
  return Object.freeze(config);
}

function shedError(reason: string, retryAfterSeconds: number): ConveyorError {
  return new ConveyorError('ServiceUnavailable', `The service is overloaded (${reason}); retry after ${retryAfterSeconds} s.`, { retryAfterSeconds });
}

export class TrafficGuard {
  readonly limiter: RateLimiter;
  readonly admission: Admission;

  constructor(readonly config: TrafficConfig, private readonly metrics: FrontendMetrics, private readonly now: () => number = Date.now) {
    this.limiter = new RateLimiter({
      perKey: config.keyRatePerSecond > 0 ? { ratePerSecond: config.keyRatePerSecond, burst: config.keyBurst } : undefined,
      perQueue: config.queueRatePerSecond > 0 ? { ratePerSecond: config.queueRatePerSecond, burst: config.queueBurst } : undefined,
      maxTracked: config.maxTrackedBuckets,
    });
    this.admission = new Admission({ maxRequests: config.maxInFlight, maxLongPolls: config.maxLongPolls });
    metrics.beforeScrape.push(() => {
      const sizes = this.limiter.sizes();
      this.metrics.limiterEntries.set({ table: 'keys' }, sizes.keys);
      this.metrics.limiterEntries.set({ table: 'queues' }, sizes.queues);
      const counts = this.admission.counts;
      this.metrics.inFlight.set({ kind: 'requests' }, counts.requests);
      this.metrics.inFlight.set({ kind: 'long_polls' }, counts.longPolls);
    });
  }

  shed(request: FastifyRequest, reason: ShedReason, text: string): ConveyorError {
    this.metrics.shed.inc({ reason });
    describeCall(request).guarded = true;
    return shedError(text, this.config.shedRetryAfterSeconds);
  }

  /** Takes a request slot until the response closes; throws the 503 when none is free. */
  enter(request: FastifyRequest, onClose: (release: () => void) => void): void {
    if (!this.admission.enter()) throw this.shed(request, 'in_flight', 'too many requests in flight');
    const call = describeCall(request);
    call.slot = 'request';
    onClose(() => {
      if (call.slot) this.admission.leave(call.slot);
      call.slot = undefined;
    });
  }

  /** Rate limits for the caller and the queue, then a long-poll slot if the call parks. */
  admit(request: FastifyRequest, queue: string | undefined, longPoll: boolean): void {
    const call = describeCall(request);
    const decision = this.limiter.take(callerAccessKey(request), queue, this.now());
    if (!decision.ok) {
      this.metrics.throttled.inc({ scope: decision.scope, protocol: call.protocol });
      call.guarded = true;
      const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
      const what = decision.scope === 'key' ? 'this access key' : `queue ${queue ?? ''}`;
      throw new ConveyorError('RequestThrottled', `Rate exceeded for ${what}; retry after ${retryAfterSeconds} s.`, { retryAfterSeconds, scope: decision.scope });
    }
    if (longPoll && call.slot === 'request') {
      if (!this.admission.toLongPoll()) throw this.shed(request, 'long_polls', 'too many long polls parked');
      call.slot = 'longPoll';
    }
  }
}

/** The in-flight gate on every SQS and native request, the native API's limits, and the event-loop check. */
export function registerTrafficGuard(app: FastifyInstance, guard: TrafficGuard): void {
  if (guard.config.maxEventLoopDelayMs > 0) {
    void app.register(underPressure, {
      maxEventLoopDelay: guard.config.maxEventLoopDelayMs,
      // Rejecting sends the error to the error handler, which answers in the request's protocol.
      pressureHandler: (request, _reply, type) => {
        if (isServiceRoute(request)) return undefined;
        return Promise.reject(guard.shed(request, type === 'eventLoopDelay' ? 'event_loop_delay' : 'heap', `${type} over its limit`));
      },
    });
  }
  // Callback hooks: no promise per request; what they throw goes to the error handler all the same.
  app.addHook('onRequest', (request, reply, done) => {
    if (!isServiceRoute(request)) guard.enter(request, (release) => reply.raw.once('close', release));
    done();
  });
  // The native API's calls are limited here; SQS calls are limited once their action is decoded (invoke.ts).
  app.addHook('preHandler', (request, _reply, done) => {
    const call = describeCall(request);
    if (call.protocol === 'native' && !isServiceRoute(request)) {
      const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as { queue?: unknown; waitTimeSeconds?: unknown };
      call.queue = typeof body.queue === 'string' ? body.queue.slice(0, 80) : undefined;
      guard.admit(request, call.queue, call.action === 'ReceiveMessage' && typeof body.waitTimeSeconds === 'number' && body.waitTimeSeconds > 0);
    }
    done();
  });
}
