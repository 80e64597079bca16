/**
 * The metadata service's view of ZooKeeper: every queue record (with its znode version) and every
 * backend cluster (state and live nodes), kept in memory and fresh through watches. A new session
 * (after expiry) re-reads and re-watches everything. Reads are answered from here; while
 * ZooKeeper is unreachable they are marked stale.
 */
import { zk, type ClusterState, type ZkSession } from '@conveyor/backend-node';
import type { QueueRecord } from './core/queue-record.ts';

export interface Versioned<T> {
  value: T;
  version: number;
}

export interface ClusterEntry {
  id: string;
  state: ClusterState | undefined;
  nodes: Map<string, { address: string }>;
}

const decode = <T>(data: Buffer | undefined): T | undefined => (data && data.length > 0 ? (JSON.parse(data.toString('utf8')) as T) : undefined);

export class RegistryCache {
  readonly queues = new Map<string, Versioned<QueueRecord>>();
  readonly clusters = new Map<string, ClusterEntry>();
  private generation = 0;
  /** The latest (re)load: the first one finishes before the service answers. */
  loaded: Promise<void> = Promise.resolve();

  constructor(
    private readonly session: ZkSession,
    readonly root: string,
    private readonly log: (message: string, extra?: Record<string, unknown>) => void,
  ) {
    session.on('session', () => {
      this.loaded = this.reload();
    });
  }

  get queuesPath(): string {
    return `${this.root}/queues`;
  }
  get clustersPath(): string {
    return `${this.root}/clusters`;
  }
  get deletedPath(): string {
    return `${this.root}/deleted`;
  }

  /** Re-reads everything with fresh watches (the old ones died with the old session). */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    try {
      const client = this.session.client;
      await Promise.all([this.queuesPath, this.clustersPath, this.deletedPath].map((p) => zk.withTimeout(zk.zkMkdirp(client, p), this.session.opTimeoutMs, 'mkdirp')));
      await Promise.all([this.refreshQueueList(generation), this.refreshClusterList(generation)]);
      this.log('registry loaded', { queues: this.queues.size, clusters: this.clusters.size });
    } catch (error) {
      this.log('registry reload failed; retrying', { error: (error as Error).message });
      setTimeout(() => generation === this.generation && void this.reload(), 500).unref();
    }
  }

  private watch(generation: number, fn: () => Promise<void>): () => void {
    return () => {
      if (generation === this.generation) void fn().catch((error: Error) => this.log('watch refresh failed', { error: error.message }));
    };
  }

  private async refreshQueueList(generation: number): Promise<void> {
    const names = await zk.withTimeout(zk.zkChildren(this.session.client, this.queuesPath, this.watch(generation, () => this.refreshQueueList(generation))), this.session.opTimeoutMs, 'list queues');
    this.session.touch();
    const current = new Set(names);
    for (const name of this.queues.keys()) if (!current.has(name)) this.queues.delete(name);
    await Promise.all(names.filter((n) => !this.queues.has(n)).map((n) => this.refreshQueue(generation, n)));
  }

  async refreshQueue(generation: number, name: string): Promise<void> {
    try {
      const { data, stat } = await zk.withTimeout(zk.zkGetData(this.session.client, `${this.queuesPath}/${name}`, this.watch(generation, () => this.refreshQueue(generation, name))), this.session.opTimeoutMs, 'read queue');
      this.session.touch();
      const record = decode<QueueRecord>(data);
      if (record) this.queues.set(name, { value: record, version: stat.version });
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw error;
      this.queues.delete(name);
    }
  }

  /** Re-reads one queue now (after this service wrote it), so the next read sees the write. */
  refreshQueueNow(name: string): Promise<void> {
    return this.refreshQueue(this.generation, name);
  }

  private async refreshClusterList(generation: number): Promise<void> {
    const ids = await zk.withTimeout(zk.zkChildren(this.session.client, this.clustersPath, this.watch(generation, () => this.refreshClusterList(generation))), this.session.opTimeoutMs, 'list clusters');
    this.session.touch();
    for (const id of this.clusters.keys()) if (!ids.includes(id)) this.clusters.delete(id);
    await Promise.all(ids.filter((id) => !this.clusters.has(id)).map(async (id) => {
      this.clusters.set(id, { id, state: undefined, nodes: new Map() });
      await Promise.all([this.refreshClusterState(generation, id), this.refreshClusterNodes(generation, id)]);
    }));
  }

  private async refreshClusterState(generation: number, id: string): Promise<void> {
    const entry = this.clusters.get(id);
    if (!entry) return;
    try {
      const { data } = await zk.withTimeout(zk.zkGetData(this.session.client, `${this.clustersPath}/${id}/state`, this.watch(generation, () => this.refreshClusterState(generation, id))), this.session.opTimeoutMs, 'read cluster state');
      entry.state = decode<ClusterState>(data);
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw error;
      // Not created yet: watch for it.
      await zk.withTimeout(zk.zkExists(this.session.client, `${this.clustersPath}/${id}/state`, this.watch(generation, () => this.refreshClusterState(generation, id))), this.session.opTimeoutMs, 'watch cluster state');
    }
    this.session.touch();
  }

  private async refreshClusterNodes(generation: number, id: string): Promise<void> {
    const entry = this.clusters.get(id);
    if (!entry) return;
    const path = `${this.clustersPath}/${id}/nodes`;
    let children: string[] = [];
    try {
      children = await zk.withTimeout(zk.zkChildren(this.session.client, path, this.watch(generation, () => this.refreshClusterNodes(generation, id))), this.session.opTimeoutMs, 'list nodes');
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw error;
      await zk.withTimeout(zk.zkExists(this.session.client, path, this.watch(generation, () => this.refreshClusterNodes(generation, id))), this.session.opTimeoutMs, 'watch nodes');
    }
    const nodes = new Map<string, { address: string }>();
    await Promise.all(children.map(async (nodeId) => {
      try {
        const { data } = await zk.withTimeout(zk.zkGetData(this.session.client, `${path}/${nodeId}`), this.session.opTimeoutMs, 'read node');
        const info = decode<{ address: string }>(data);
        if (info) nodes.set(nodeId, info);
      } catch (error) {
        if (zk.zkErrorKind(error) !== 'noNode') throw error;
      }
    }));
    entry.nodes = nodes;
    this.session.touch();
  }
}
