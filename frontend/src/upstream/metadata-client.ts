/**
 * The frontend's client of the metadata service, with a short-lived cache of queue records and
 * of the cluster view. Routing failures (QueueMoved, NotLeader, a queue gone) refresh the entry.
 */
import { request } from 'undici';
import { ConveyorError, ERROR_CODES, type ErrorCode } from '@conveyor/client-sdk';
import type { QueueRecord } from '@conveyor/metadata-service';
import type { UpstreamMetrics } from './upstream-metrics.ts';

/** A queue's record as the metadata service keeps it: where it lives, its config, a move in progress. */
export type QueueRoute = QueueRecord;

export interface ClusterNodes {
  id: string;
  addresses: string[];
}

const QUEUE_TTL_MS = 5_000;
const CLUSTER_TTL_MS = 2_000;

export class MetadataClient {
  private readonly queues = new Map<string, { route: QueueRoute; at: number }>();
  private clusterCache: { clusters: Map<string, ClusterNodes>; at: number } | undefined;

  constructor(private readonly baseUrl: string, private readonly timeoutMs = 5_000, private readonly metrics?: UpstreamMetrics) {}

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
  async queue(name: string, refresh = false): Promise<QueueRoute> {
    const cached = this.queues.get(name);
    if (cached && !refresh && Date.now() - cached.at < QUEUE_TTL_MS) return cached.route;
    this.metrics?.routeRefresh('queue');
    try {
      const { queue } = await this.call<{ queue: QueueRoute }>('GET', `/v1/queues/${encodeURIComponent(name)}`);
      this.queues.set(name, { route: queue, at: Date.now() });
      return queue;
    } catch (error) {
      this.queues.delete(name);
      throw error;
    }
  }

  forget(name: string): void {
    this.queues.delete(name);
  }

  remember(route: QueueRoute): void {
    this.queues.set(route.id, { route, at: Date.now() });
  }

  async cluster(id: string, refresh = false): Promise<ClusterNodes> {
    if (!this.clusterCache || refresh || Date.now() - this.clusterCache.at > CLUSTER_TTL_MS) {
      this.metrics?.routeRefresh('cluster');
      const { clusters } = await this.call<{ clusters: Array<{ id: string; leader: string | null; nodes: Array<{ id: string; address: string; live: boolean }> }> }>('GET', '/v1/clusters');
      const map = new Map<string, ClusterNodes>();
      for (const c of clusters) {
        const live = c.nodes.filter((n) => n.live);
        const leader = live.find((n) => n.id === c.leader);
        map.set(c.id, { id: c.id, addresses: [...(leader ? [leader.address] : []), ...live.filter((n) => n !== leader).map((n) => n.address)] });
      }
      this.clusterCache = { clusters: map, at: Date.now() };
    }
    const cluster = this.clusterCache.clusters.get(id);
    if (!cluster || cluster.addresses.length === 0) throw new ConveyorError('ServiceUnavailable', `Backend cluster ${id} has no live nodes.`, { cluster: id });
    return cluster;
  }
}
