/**
 * A backend node's link to ZooKeeper: it registers the node (ephemeral `nodes/<id>` with its
 * address), keeps a watched copy of the cluster's `state` ({epoch, leader, isr}), the `leader`
 * lock and the live nodes, runs elections and changes the ISR — `state` only ever by
 * compare-and-set on its znode version. It also keeps the leader's lease: the time of the last
 * answer from ZooKeeper. A node that has not heard from ZooKeeper for `leaseMs` (shorter than the
 * session timeout) must stop acting as leader, since its session may already be gone.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import zookeeper from 'node-zookeeper-client';
import type { ClusterState } from '../replication/types.ts';
import {
  CreateMode,
  createZkClient,
  withTimeout,
  zkChildren,
  zkConnect,
  zkCreate,
  zkErrorKind,
  zkExists,
  zkGetData,
  zkMkdirp,
  zkRemove,
  zkSetData,
  type ZkClient,
} from './zk.ts';

export interface CoordinatorOptions {
  connectString: string;
  root: string;
  clusterId: string;
  nodeId: string;
  /** URL other nodes use to reach this one. */
  address: string;
  sessionTimeoutMs: number;
  leaseMs: number;
  log: (message: string, extra?: Record<string, unknown>) => void;
}

export interface NodeInfo {
  address: string;
}

const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const decode = <T>(data: Buffer | undefined): T | undefined => (data && data.length > 0 ? (JSON.parse(data.toString('utf8')) as T) : undefined);
const sameState = (a: ClusterState | undefined, b: ClusterState): boolean => !!a && a.epoch === b.epoch && a.leader === b.leader && a.isr.join() === b.isr.join();

export class ClusterCoordinator extends EventEmitter {
  state: ClusterState | undefined;
  leaderLock: string | undefined;
  readonly liveNodes = new Map<string, NodeInfo>();
  /** Nodes an operator drained or removed (`retired/<id>`): they may neither lead nor be in sync. */
  retired = new Set<string>();
  private client: ZkClient | undefined;
  private generation = 0;
  private lastContact = Number.NEGATIVE_INFINITY;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly base: string;

  constructor(private readonly options: CoordinatorOptions) {
    super();
    this.base = `${options.root.replace(/\/+$/, '')}/clusters/${options.clusterId}`;
  }

  private get statePath(): string {
    return `${this.base}/state`;
  }
  private get leaderPath(): string {
    return `${this.base}/leader`;
  }
  private get nodesPath(): string {
    return `${this.base}/nodes`;
  }
  private get retiredPath(): string {
    return `${this.base}/retired`;
  }

  private get opTimeoutMs(): number {
    return this.options.sessionTimeoutMs;
  }

  /** Connects (retrying until it works or the coordinator is closed) and registers the node. */
  async start(): Promise<void> {
    // Bounded by `closed`: a node keeps trying to reach ZooKeeper for as long as it runs.
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.openSession();
        return;
      } catch (error) {
        this.options.log('zookeeper session failed; retrying', { attempt, error: (error as Error).message });
        this.client?.close();
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
    }
  }

  /** True while this node has heard from ZooKeeper within the lease. */
  leaseValid(): boolean {
    return performance.now() - this.lastContact < this.options.leaseMs;
  }

  private touch(generation: number): void {
    if (generation === this.generation) this.lastContact = performance.now();
  }

  private async openSession(): Promise<void> {
    const generation = ++this.generation;
    const client = createZkClient(this.options.connectString, this.options.sessionTimeoutMs);
    this.client = client;
    client.on('state', (state: zookeeper.State) => {
      if (generation !== this.generation) return;
      if (state === zookeeper.State.SYNC_CONNECTED) {
        this.touch(generation);
        void this.refreshAll(generation).catch(() => {});
      } else if (state === zookeeper.State.DISCONNECTED) {
        this.options.log('zookeeper disconnected');
        this.emit('change');
      } else if (state === zookeeper.State.EXPIRED) {
        this.onExpired(generation);
      }
    });
    await zkConnect(client, this.opTimeoutMs * 2);
    this.touch(generation);
    await withTimeout(zkMkdirp(client, this.nodesPath), this.opTimeoutMs, 'mkdirp');
    await withTimeout(zkMkdirp(client, this.retiredPath), this.opTimeoutMs, 'mkdirp retired');
    try {
      await withTimeout(zkCreate(client, this.statePath, encode({ epoch: 0, leader: null, isr: [] } satisfies ClusterState), CreateMode.PERSISTENT), this.opTimeoutMs, 'create state');
    } catch (error) {
      if (zkErrorKind(error) !== 'nodeExists') throw error;
    }
    await this.register(client);
    await this.refreshAll(generation);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      withTimeout(zkExists(client, this.base), this.options.leaseMs, 'heartbeat').then(() => this.touch(generation), () => {});
    }, Math.max(50, Math.floor(this.options.leaseMs / 4)));
    this.heartbeat.unref();
    this.options.log('zookeeper session open', { sessionTimeoutMs: client.getSessionTimeout() });
  }

  private async register(client: ZkClient): Promise<void> {
    const path = `${this.nodesPath}/${this.options.nodeId}`;
    const data = encode({ address: this.options.address } satisfies NodeInfo);
    // A persistent membership record too, so operators see a node that is down as a member.
    const member = `${this.base}/members/${this.options.nodeId}`;
    await withTimeout(zkMkdirp(client, `${this.base}/members`), this.opTimeoutMs, 'mkdirp members');
    // A node removed for good does not come back as a member (it still serves nothing: it may not lead or be in sync).
    const removed = await withTimeout(zkGetData(client, `${this.retiredPath}/${this.options.nodeId}`), this.opTimeoutMs, 'read retired').then(
      ({ data }) => data?.toString('utf8') === 'removed',
      () => false,
    );
    if (removed) this.options.log('this node was removed from the cluster; it will not rejoin');
    else {
      try {
        await withTimeout(zkCreate(client, member, data, CreateMode.PERSISTENT), this.opTimeoutMs, 'record membership');
      } catch (error) {
        if (zkErrorKind(error) !== 'nodeExists') throw error;
        await withTimeout(zkSetData(client, member, data, -1), this.opTimeoutMs, 'update membership');
      }
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await withTimeout(zkCreate(client, path, data, CreateMode.EPHEMERAL), this.opTimeoutMs, 'register');
        return;
      } catch (error) {
        if (zkErrorKind(error) !== 'nodeExists') throw error;
        // Left by this node's previous session, which ZooKeeper has not expired yet.
        await withTimeout(zkRemove(client, path), this.opTimeoutMs, 'remove stale registration').catch(() => {});
      }
    }
    throw new Error(`node id ${this.options.nodeId} is registered by another live process`);
  }

  private onExpired(generation: number): void {
    if (generation !== this.generation) return;
    this.options.log('zookeeper session expired');
    this.lastContact = Number.NEGATIVE_INFINITY;
    this.leaderLock = undefined;
    this.emit('sessionLost');
    this.client?.close();
    if (!this.closed) void this.start().then(() => this.emit('change'));
  }

  private async refreshAll(generation: number): Promise<void> {
    await Promise.all([this.refreshState(generation), this.refreshLeader(generation), this.refreshNodes(generation), this.refreshRetired(generation)]);
  }

  private async refreshRetired(generation: number): Promise<void> {
    const client = this.client;
    if (!client || generation !== this.generation) return;
    const children = await withTimeout(zkChildren(client, this.retiredPath, () => void this.refreshRetired(generation).catch(() => {})), this.opTimeoutMs, 'list retired');
    this.touch(generation);
    this.retired = new Set(children);
    this.emit('change');
  }

  private async refreshState(generation: number): Promise<void> {
    const client = this.client;
    if (!client || generation !== this.generation) return;
    const { data } = await withTimeout(zkGetData(client, this.statePath, () => void this.refreshState(generation).catch(() => {})), this.opTimeoutMs, 'read state');
    this.touch(generation);
    this.state = decode<ClusterState>(data);
    this.emit('change');
  }

  private async refreshLeader(generation: number): Promise<void> {
    const client = this.client;
    if (!client || generation !== this.generation) return;
    const watch = (): void => void this.refreshLeader(generation).catch(() => {});
    const stat = await withTimeout(zkExists(client, this.leaderPath, watch), this.opTimeoutMs, 'watch leader');
    let holder: string | undefined;
    if (stat) {
      try {
        const { data } = await withTimeout(zkGetData(client, this.leaderPath), this.opTimeoutMs, 'read leader');
        holder = data?.toString('utf8');
      } catch (error) {
        if (zkErrorKind(error) !== 'noNode') throw error;
      }
    }
    this.touch(generation);
    this.leaderLock = holder;
    this.emit('change');
  }

  private async refreshNodes(generation: number): Promise<void> {
    const client = this.client;
    if (!client || generation !== this.generation) return;
    const children = await withTimeout(zkChildren(client, this.nodesPath, () => void this.refreshNodes(generation).catch(() => {})), this.opTimeoutMs, 'list nodes');
    const nodes = new Map<string, NodeInfo>();
    await Promise.all(
      children.map(async (id) => {
        try {
          const { data } = await withTimeout(zkGetData(client, `${this.nodesPath}/${id}`), this.opTimeoutMs, 'read node');
          const info = decode<NodeInfo>(data);
          if (info) nodes.set(id, info);
        } catch (error) {
          if (zkErrorKind(error) !== 'noNode') throw error;
        }
      }),
    );
    this.touch(generation);
    this.liveNodes.clear();
    for (const [id, info] of nodes) this.liveNodes.set(id, info);
    this.emit('change');
  }

  private async readState(): Promise<{ state: ClusterState; version: number }> {
    const client = this.requireClient();
    const { data, stat } = await withTimeout(zkGetData(client, this.statePath), this.opTimeoutMs, 'read state');
    return { state: decode<ClusterState>(data) ?? { epoch: 0, leader: null, isr: [] }, version: stat.version };
  }

  private requireClient(): ZkClient {
    if (!this.client) throw new Error('not connected to ZooKeeper');
    return this.client;
  }

  private eligible(state: ClusterState): boolean {
    if (this.retired.has(this.options.nodeId)) return false;
    // Only a member of the ISR may lead; a brand-new cluster (epoch 0, empty ISR) lets anyone start it.
    return state.isr.includes(this.options.nodeId) || (state.epoch === 0 && state.isr.length === 0);
  }

  /** Tries to become leader: takes the ephemeral lock, then raises the epoch by CAS. */
  async tryLead(): Promise<ClusterState | undefined> {
    if (!this.leaseValid()) return undefined;
    const client = this.requireClient();
    const before = await this.readState();
    if (!this.eligible(before.state)) return undefined;
    try {
      await withTimeout(zkCreate(client, this.leaderPath, Buffer.from(this.options.nodeId), CreateMode.EPHEMERAL), this.opTimeoutMs, 'take leader lock');
    } catch (error) {
      if (zkErrorKind(error) === 'nodeExists') return undefined;
      throw error;
    }
    try {
      const { state, version } = await this.readState();
      if (!this.eligible(state)) throw new Error('no longer in the ISR');
      // Read after the state: a drain marked later changes the state's version, so the CAS below fails.
      if (await withTimeout(zkExists(client, `${this.retiredPath}/${this.options.nodeId}`), this.opTimeoutMs, 'check retired')) throw new Error('this node is drained');
      const live = new Set(await withTimeout(zkChildren(client, this.nodesPath), this.opTimeoutMs, 'list nodes'));
      const isr = [...new Set([this.options.nodeId, ...state.isr.filter((id) => live.has(id))])].sort();
      const next: ClusterState = { epoch: state.epoch + 1, leader: this.options.nodeId, isr };
      if (!(await this.compareAndSet(next, version))) throw new Error('the cluster state changed during the election');
      this.state = next;
      this.leaderLock = this.options.nodeId;
      this.options.log('elected leader', { epoch: next.epoch, isr });
      return next;
    } catch (error) {
      this.options.log('election lost', { error: (error as Error).message });
      await this.resign();
      return undefined;
    }
  }

  /** Changes the ISR for the given epoch; false if that epoch is over (this leader is deposed). */
  async updateIsr(epoch: number, isr: string[]): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const { state, version } = await this.readState();
      if (state.epoch !== epoch || state.leader !== this.options.nodeId) return false;
      const next: ClusterState = { ...state, isr: [...isr].sort() };
      if (await this.compareAndSet(next, version)) {
        this.state = next;
        this.options.log('ISR changed', { epoch, isr: next.isr });
        return true;
      }
    }
    return false;
  }

  // A write that timed out may still have happened: re-read and compare before calling it failed.
  private async compareAndSet(next: ClusterState, version: number): Promise<boolean> {
    try {
      await withTimeout(zkSetData(this.requireClient(), this.statePath, encode(next), version), this.opTimeoutMs, 'write state');
      return true;
    } catch (error) {
      const kind = zkErrorKind(error);
      if (kind === 'badVersion') return false;
      const { state } = await this.readState();
      return sameState(state, next);
    }
  }

  /** Gives up the leader lock if this node holds it. */
  async resign(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      const { data } = await withTimeout(zkGetData(client, this.leaderPath), this.opTimeoutMs, 'read leader');
      if (data?.toString('utf8') === this.options.nodeId) await withTimeout(zkRemove(client, this.leaderPath), this.opTimeoutMs, 'release leader lock');
    } catch {
      // gone already, or ZooKeeper unreachable: the session's end releases it
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.generation += 1;
    this.client?.close();
  }
}
