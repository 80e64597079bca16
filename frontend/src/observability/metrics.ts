/**
 * The frontend's Prometheus metrics (prom-client), served at `GET /metrics`: requests, errors and
 * latency by action and protocol; throttled and shed requests; authentication failures; messages
 * sent, received and deleted per queue; backend and metadata round trips; routing-cache refreshes.
 * One registry per frontend instance (tests build several in one process). Label values are
 * bounded: actions come from fixed lists, and at most `maxQueueLabels` queues get series of their
 * own (the rest count under `_other`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { UpstreamMetrics } from '../upstream/upstream-metrics.ts';

export type Protocol = 'json' | 'query' | 'native';
export type ShedReason = 'in_flight' | 'long_polls' | 'event_loop_delay' | 'heap' | 'rss';

const LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 21];

export class FrontendMetrics implements UpstreamMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'action' | 'protocol' | 'status'>;
  readonly errors: Counter<'action' | 'protocol' | 'code'>;
  readonly latency: Histogram<'action' | 'protocol'>;
  readonly throttled: Counter<'scope' | 'protocol'>;
  readonly shed: Counter<'reason'>;
  /** For the authentication code: one increment per refused request, by reason (e.g. `signature`, `expired`). */
  readonly authFailures: Counter<'reason'>;
  readonly queueMessages: Counter<'queue' | 'operation'>;
  readonly backendLatency: Histogram<'action' | 'outcome'>;
  readonly metadataLatency: Histogram<'method' | 'outcome'>;
  readonly routeRefreshes: Counter<'kind'>;
  readonly inFlight: Gauge<'kind'>;
  readonly limiterEntries: Gauge<'table'>;
  /** Run before each scrape, to set gauges from live state. */
  readonly beforeScrape: Array<() => void> = [];
  private readonly queueLabels = new Set<string>();

  constructor(private readonly maxQueueLabels = 1_000) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'conveyor_frontend_requests_total', help: 'Requests answered, by action, protocol and HTTP status.', labelNames: ['action', 'protocol', 'status'], registers });
    this.errors = new Counter({ name: 'conveyor_frontend_errors_total', help: 'Requests answered with an error, by action, protocol and error code.', labelNames: ['action', 'protocol', 'code'], registers });
    this.latency = new Histogram({ name: 'conveyor_frontend_request_duration_seconds', help: 'Time from request to answer, by action and protocol.', labelNames: ['action', 'protocol'], buckets: LATENCY_BUCKETS_S, registers });
    this.throttled = new Counter({ name: 'conveyor_frontend_throttled_total', help: 'Requests refused by a rate limit (RequestThrottled), by the limit that refused them.', labelNames: ['scope', 'protocol'], registers });
    this.shed = new Counter({ name: 'conveyor_frontend_shed_total', help: 'Requests refused with 503 to shed load, by reason.', labelNames: ['reason'], registers });
    this.authFailures = new Counter({ name: 'conveyor_frontend_auth_failures_total', help: 'Requests refused by authentication or authorization, by reason.', labelNames: ['reason'], registers });
    this.queueMessages = new Counter({ name: 'conveyor_frontend_queue_messages_total', help: 'Messages sent, received and deleted, by queue.', labelNames: ['queue', 'operation'], registers });
    this.backendLatency = new Histogram({ name: 'conveyor_frontend_backend_request_duration_seconds', help: 'Round trips to backend clusters, by native action and outcome.', labelNames: ['action', 'outcome'], buckets: LATENCY_BUCKETS_S, registers });
    this.metadataLatency = new Histogram({ name: 'conveyor_frontend_metadata_request_duration_seconds', help: 'Round trips to the metadata service, by HTTP method and outcome.', labelNames: ['method', 'outcome'], buckets: LATENCY_BUCKETS_S, registers });
    this.routeRefreshes = new Counter({ name: 'conveyor_frontend_route_cache_refreshes_total', help: 'Routing-cache fetches from the metadata service (queue routes, cluster views).', labelNames: ['kind'], registers });
    this.inFlight = new Gauge({ name: 'conveyor_frontend_in_flight', help: 'Requests in flight and long polls parked.', labelNames: ['kind'], registers });
    this.limiterEntries = new Gauge({ name: 'conveyor_frontend_rate_limiter_entries', help: 'Token buckets kept by the rate limiter (bounded), per table.', labelNames: ['table'], registers });
  }

  /** The queue's own label, or `_other` once `maxQueueLabels` queues have one. */
  queueLabel(queue: string): string {
    if (this.queueLabels.has(queue)) return queue;
    if (this.queueLabels.size >= this.maxQueueLabels) return '_other';
    this.queueLabels.add(queue);
    return queue;
  }

  messages(queue: string, operation: 'sent' | 'received' | 'deleted', count: number): void {
    if (count > 0) this.queueMessages.inc({ queue: this.queueLabel(queue), operation }, count);
  }

  backendCall(action: string, seconds: number, ok: boolean): void {
    this.backendLatency.observe({ action, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  metadataCall(method: string, seconds: number, ok: boolean): void {
    this.metadataLatency.observe({ method, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  routeRefresh(kind: 'queue' | 'cluster'): void {
    this.routeRefreshes.inc({ kind });
  }
}
