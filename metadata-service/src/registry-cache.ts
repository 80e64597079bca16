/**
 * The metadata service's view of ZooKeeper: every queue record (with its znode version) and every
 * backend cluster (state and live nodes), kept in memory and fresh through watches. A new session
 * (after expiry) re-reads and re-watches everything. Reads are answered from here; while
 * ZooKeeper is unreachable they are marked stale.
 */
import { zk, type ClusterState, type RetiredKind, type ZkSession } from '@conveyor/backend-node';
import type { QueueRecord } from './core/queue-record.ts';

export interface Versioned<T> {
  value: T;
  version: number;
}

export interface ClusterEntry {
  id: string;
  state: ClusterState | undefined;
  /** Live nodes (their ephemeral registrations). */
  nodes: Map<string, { address: string }>;
  /** Every node that ever joined (persistent), live or not. */
  members: Map<string, { address: string }>;
  /** Nodes an operator drained or removed (`<cluster>/retired/<node>`). */
  retired: Map<string, RetiredKind>;
}

const decode = <T>(data: Buffer | undefined): T | undefined => (data && data.length > 0 ? (JSON.parse(data.toString('utf8')) as T) : undefined);

export class RegistryCache {
  readonly queues = new Map<string, Versioned<QueueRecord>>();
  readonly clusters = new Map<string, ClusterEntry>();
  private generation = 0;
  /** The generation (session) whose full load completed last; 0 before the first. */
  private loadedGeneration = 0;
  /**
   * One watcher function per watched path and session: node-zookeeper-client keeps every distinct
   * function it is given for a path and calls them all, so a fresh closure per read would pile up
   * (one more per write through this service) and multiply the re-reads of every later change.
   */
  private readonly watchers = new Map<string, () => void>();
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

  /** True once the registry has been read at least once: until then a miss proves nothing. */
  get everLoaded(): boolean {
    return this.loadedGeneration > 0;
  }

  /** True once the current session's full (re)load has completed. */
  get current(): boolean {
    return this.loadedGeneration > 0 && this.loadedGeneration === this.generation;
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
    this.watchers.clear();
    try {
      const client = this.session.client;
      await Promise.all([this.queuesPath, this.clustersPath, this.deletedPath].map((p) => zk.withTimeout(zk.zkMkdirp(client, p), this.session.opTimeoutMs, 'mkdirp')));
      // Everything, not only what is new: entries already cached may have changed while the
      // session was gone, and their watches died with it.
      await Promise.all([this.refreshQueueList(generation, true), this.refreshClusterList(generation, true)]);
      if (generation === this.generation) this.loadedGeneration = generation;
      this.log('registry loaded', { queues: this.queues.size, clusters: this.clusters.size });
    } catch (error) {
      this.log('registry reload failed; retrying', { error: (error as Error).message });
      setTimeout(() => generation === this.generation && void this.reload(), 500).unref();
    }
  }

  /** The watcher for `key` (kind and path) in this generation; the same function every time. */
  private watch(generation: number, key: string, fn: () => Promise<void>): () => void {
    const id = `${generation} ${key}`;
    let watcher = this.watchers.get(id);
    if (!watcher) {
      watcher = () => {
        if (generation === this.generation) void fn().catch((error: Error) => this.log('watch refresh failed', { error: error.message }));
      };
      if (generation === this.generation) this.watchers.set(id, watcher);
    }
    return watcher;
  }

  /** Re-reads the list of queues; `all` re-reads (and re-watches) every queue, not only new ones. */
  private async refreshQueueList(generation: number, all = false): Promise<void> {
    const names = await zk.withTimeout(zk.zkChildren(this.session.client, this.queuesPath, this.watch(generation, 'queues', () => this.refreshQueueList(generation))), this.session.opTimeoutMs, 'list queues');
    this.session.touch();
    const current = new Set(names);
    for (const name of this.queues.keys()) if (!current.has(name)) this.queues.delete(name);
    await Promise.all(names.filter((n) => all || !this.queues.has(n)).map((n) => this.refreshQueue(generation, n)));
  }

  async refreshQueue(generation: number, name: string): Promise<void> {
    try {
      const { data, stat } = await zk.withTimeout(zk.zkGetData(this.session.client, `${this.queuesPath}/${name}`, this.watch(generation, `queue ${name}`, () => this.refreshQueue(generation, name))), this.session.opTimeoutMs, 'read queue');
      this.session.touch();
      const record = decode<QueueRecord>(data);
      if (record) this.queues.set(name, { value: record, version: stat.version });
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw error;
      this.queues.delete(name);
      this.watchers.delete(`${generation} queue ${name}`); // no watch is left on a missing node
    }
  }

  /** Re-reads one queue now (after this service wrote it), so the next read sees the write. */
  refreshQueueNow(name: string): Promise<void> {
    return this.refreshQueue(this.generation, name);
  }

  /** Re-reads the list of clusters; `all` re-reads (and re-watches) every cluster, not only new ones. */
  private async refreshClusterList(generation: number, all = false): Promise<void> {
    const ids = await zk.withTimeout(zk.zkChildren(this.session.client, this.clustersPath, this.watch(generation, 'clusters', () => this.refreshClusterList(generation))), this.session.opTimeoutMs, 'list clusters');
    this.session.touch();
    for (const id of this.clusters.keys()) if (!ids.includes(id)) this.clusters.delete(id);
    await Promise.all(ids.filter((id) => all || !this.clusters.has(id)).map(async (id) => {
      if (!this.clusters.has(id)) this.clusters.set(id, { id, state: undefined, nodes: new Map(), members: new Map(), retired: new Map() });
      await Promise.all([this.refreshClusterState(generation, id), this.refreshClusterNodes(generation, id), this.refreshClusterNodes(generation, id, 'members'), this.refreshRetired(generation, id)]);
    }));
  }

  private async refreshClusterState(generation: number, id: string): Promise<void> {
    const entry = this.clusters.get(id);
    if (!entry) return;
    try {
      const { data } = await zk.withTimeout(zk.zkGetData(this.session.client, `${this.clustersPath}/${id}/state`, this.watch(generation, `state ${id}`, () => this.refreshClusterState(generation, id))), this.session.opTimeoutMs, 'read cluster state');
      entry.state = decode<ClusterState>(data);
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw error;
      // Not created yet: watch for it (created in between: an exists watch would wait for its next change, so read it now).
      const appeared = await zk.withTimeout(zk.zkExists(this.session.client, `${this.clustersPath}/${id}/state`, this.watch(generation, `state-exists ${id}`, () => this.refreshClusterState(generation, id))), this.session.opTimeoutMs, 'watch cluster state');
      if (appeared) return this.refreshClusterState(generation, id);
    }
    this.session.touch();
  }

  /** The drained and removed nodes of a cluster (a drain creates the entry, a removal rewrites it, so both are watched). */
  private async refreshRetired(generation: number, id: string): Promise<void> {
    const entry = this.clusters.get(id);
    if (!entry) return;
    const path = `${this.clustersPath}/${id}/retired`;
    const again = this.watch(generation, `retired ${id}`, () => this.refreshRetired(generation, id));
    let children: string[] = [];
    try {
      children = await zk.withTimeout(zk.zkChildren(this.session.client, path, again), this.session.opTimeoutMs, 'list retired');
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw error;
      const appeared = await zk.withTimeout(zk.zkExists(this.session.client, path, this.watch(generation, `retired-exists ${id}`, () => this.refreshRetired(generation, id))), this.session.opTimeoutMs, 'watch retired');
      if (appeared) return this.refreshRetired(generation, id); // created in between: list it now
    }
    const retired = new Map<string, RetiredKind>();
    await Promise.all(children.map(async (nodeId) => {
      try {
        const { data } = await zk.withTimeout(zk.zkGetData(this.session.client, `${path}/${nodeId}`, again), this.session.opTimeoutMs, 'read retired');
        retired.set(nodeId, data?.toString('utf8') === 'removed' ? 'removed' : 'drained');
      } catch (error) {
        if (zk.zkErrorKind(error) !== 'noNode') throw error;
      }
    }));
    entry.retired = retired;
    this.session.touch();
  }

  /** Live nodes (`nodes`, ephemeral) or all members (`members`, persistent) of a cluster. */
  private async refreshClusterNodes(generation: number, id: string, kind: 'nodes' | 'members' = 'nodes'): Promise<void> {
    const entry = this.clusters.get(id);
    if (!entry) return;
    const path = `${this.clustersPath}/${id}/${kind}`;
    let children: string[] = [];
    try {
      children = await zk.withTimeout(zk.zkChildren(this.session.client, path, this.watch(generation, `${kind} ${id}`, () => this.refreshClusterNodes(generation, id, kind))), this.session.opTimeoutMs, `list ${kind}`);
    } catch (error) {
      if (zk.zkErrorKind(error) !== 'noNode') throw error;
      // An exists watch on a path created in between fires only on its next change, not on new children: list it now.
      const appeared = await zk.withTimeout(zk.zkExists(this.session.client, path, this.watch(generation, `${kind}-exists ${id}`, () => this.refreshClusterNodes(generation, id, kind))), this.session.opTimeoutMs, `watch ${kind}`);
      if (appeared) return this.refreshClusterNodes(generation, id, kind);
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
    if (kind === 'nodes') entry.nodes = nodes;
    else entry.members = nodes;
    this.session.touch();
  }
}
