/**
 * The frontend's client of the metadata service, with a short-lived cache of queue records and
 * of the cluster view. Routing failures (QueueMoved, NotLeader, a queue gone) refresh the entry.
 */
import { request } from 'undici';
import { ConveyorError, ERROR_CODES, type ErrorCode } from '@conveyor/client-sdk';
import type { QueueRecord } from '@conveyor/metadata-service';
import { RefreshingCache } from '../core/refreshing-cache.ts';
import type { UpstreamMetrics } from './upstream-metrics.ts';

/** A queue's record as the metadata service keeps it: where it lives, its config, a move in progress. */
export type QueueRoute = QueueRecord;

export interface ClusterNodes {
  id: string;
  addresses: string[];
}

/**
 * Routes younger than these are used as they are; older ones are still used (up to
 * MAX_STALE_MS, while the metadata service may be unreachable) and reloaded in the background,
 * so no request waits for a reload unless a routing failure asked for it.
 */
const QUEUE_TTL_MS = 5_000;
const CLUSTER_TTL_MS = 2_000;
const MAX_STALE_MS = 60_000;
const ALL_CLUSTERS = '';

export class MetadataClient {
  private readonly queues: RefreshingCache<QueueRoute>;
  private readonly clusters: RefreshingCache<Map<string, ClusterNodes>>;

  constructor(private readonly baseUrl: string, private readonly timeoutMs = 5_000, private readonly metrics?: UpstreamMetrics) {
    this.queues = new RefreshingCache((id) => this.loadQueue(id), {
      freshMs: QUEUE_TTL_MS,
      maxStaleMs: MAX_STALE_MS,
      forgetOnError: (error) => !(error instanceof ConveyorError) || error.code !== 'ServiceUnavailable',
    });
    this.clusters = new RefreshingCache(() => this.loadClusters(), { freshMs: CLUSTER_TTL_MS, maxStaleMs: MAX_STALE_MS });
  }

  /** A JSON call; errors come back as the ConveyorError the service named. */
  async call<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const started = performance.now();
    let ok = false;
    try {
      const result = await this.roundTrip<T>(method, path, body);
      ok = true;
      return result;
    } finally {
      this.metrics?.metadataCall(method, (performance.now() - started) / 1000, ok);
    }
  }

  private async roundTrip<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res;
    try {
      res = await request(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (error) {
      throw new ConveyorError('ServiceUnavailable', `The metadata service is unreachable: ${(error as Error).message}`, {}, { cause: error });
    }
    const text = await res.body.text();
    const parsed = (text ? JSON.parse(text) : {}) as T & { error?: { code: string; message: string } };
    if (res.statusCode >= 400) {
      const code = (parsed.error?.code && parsed.error.code in ERROR_CODES ? parsed.error.code : 'InternalFailure') as ErrorCode;
      throw new ConveyorError(code, parsed.error?.message ?? `metadata service answered ${res.statusCode}`);
    }
    return parsed;
  }

  /** A queue's route by id (`<account>:<name>`). */
  queue(name: string, refresh = false): Promise<QueueRoute> {
    return this.queues.get(name, refresh);
  }

  private async loadQueue(name: string): Promise<QueueRoute> {
    this.metrics?.routeRefresh('queue');
    const { queue } = await this.call<{ queue: QueueRoute }>('GET', `/v1/queues/${encodeURIComponent(name)}`);
    return queue;
  }

  forget(name: string): void {
    this.queues.delete(name);
  }

  remember(route: QueueRoute): void {
    this.queues.set(route.id, route);
  }

  async cluster(id: string, refresh = false): Promise<ClusterNodes> {
    const cluster = (await this.clusters.get(ALL_CLUSTERS, refresh)).get(id);
    if (!cluster || cluster.addresses.length === 0) throw new ConveyorError('ServiceUnavailable', `Backend cluster ${id} has no live nodes.`, { cluster: id });
    return cluster;
  }

  /** Every cluster's live nodes, the leader first. */
  private async loadClusters(): Promise<Map<string, ClusterNodes>> {
    this.metrics?.routeRefresh('cluster');
    const { clusters } = await this.call<{ clusters: Array<{ id: string; leader: string | null; nodes: Array<{ id: string; address: string; live: boolean }> }> }>('GET', '/v1/clusters');
    const map = new Map<string, ClusterNodes>();
    for (const c of clusters) {
      const live = c.nodes.filter((n) => n.live);
      const leader = live.find((n) => n.id === c.leader);
      map.set(c.id, { id: c.id, addresses: [...(leader ? [leader.address] : []), ...live.filter((n) => n !== leader).map((n) => n.address)] });
    }
    return map;
  }
}
