/**
 * The launcher's backend nodes and the operator actions on them: add a cluster or a node, drain,
 * remove and restart a node. It owns every node process (so Ctrl-C stops them all), records each
 * change in the data directory's layout before acting (so a restart of `npm start` brings it
 * back), and makes membership changes in ZooKeeper by compare-and-set. One action runs at a time.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { MembershipRefused, markDrained, readClusterState, removeMember, type ClusterState, type NodeStatus, type ZkSession } from '@conveyor/backend-node';
import { initialLayout, minInSyncFor, nextClusterId, nextNodeId, nodesOf, removalRefusal, saveLayout, type ClusterSpec, type Layout, type NodeSpec } from './layout.ts';
import { freePort, serverNodeArgs, startChild, stopChild, waitUntil, type Child } from './processes.ts';
import { entryArgs } from './entry-bundle.ts';

export const ZK_ROOT = '/conveyor';

/** An operator action that cannot be done as asked: `usage` (a wrong name or value) or `refused` (unsafe now). */
export class OperatorError extends Error {
  constructor(
    readonly kind: 'usage' | 'refused',
    message: string,
  ) {
    super(message);
  }
}

export interface FleetOptions {
  dataDir: string;
  repoRoot: string;
  zookeeper: string;
  layout: Layout;
  /** Called whenever the set of running nodes changes (the launcher rewrites run.json). */
  onChange: () => void;
}

export interface NodeView {
  id: string;
  cluster: string;
  standing: NodeSpec['standing'];
  url: string | null;
  pid: number | null;
  running: boolean;
}

export interface ClusterTopology extends ClusterSpec {
  epoch: number | null;
  leader: string | null;
  isr: string[];
  nodes: NodeView[];
}

interface Running {
  child: Child;
  port: number;
}

const WAIT_MS = 60_000;

export class BackendFleet {
  private readonly running = new Map<string, Running>();
  private queue: Promise<unknown> = Promise.resolve();
  private session: ZkSession | undefined;
  private stopped = false;

  constructor(private readonly options: FleetOptions) {}

  get layout(): Layout {
    return this.options.layout;
  }

  /** The metadata service, once it runs: a new cluster is ready when it sees it with a leader. */
  metadataUrl: string | undefined;

  /** ZooKeeper for membership changes; set once it is up. */
  attach(session: ZkSession): void {
    this.session = session;
  }

  children(): Child[] {
    return [...this.running.values()].map((r) => r.child);
  }

  nodes(): Array<{ id: string; cluster: string; url: string; pid: number }> {
    return [...this.running.entries()].map(([id, r]) => ({ id, cluster: this.spec(id)!.cluster, url: `http://127.0.0.1:${r.port}`, pid: r.child.process.pid ?? 0 }));
  }

  private spec(id: string): NodeSpec | undefined {
    return this.layout.topology.nodes.find((n) => n.id === id);
  }

  private cluster(id: string): ClusterSpec | undefined {
    return this.layout.topology.clusters.find((c) => c.id === id);
  }

  private save(): void {
    saveLayout(this.options.dataDir, this.layout);
  }

  /** Runs operator actions one after another. */
  exclusive<T>(action: () => Promise<T>): Promise<T> {
    const next = this.queue.then(action, action);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Starts a node process (on its old port when it restarts, so its address stays the same). */
  startNode(spec: NodeSpec, port?: number): Promise<Running> {
    return this.launch(spec, port);
  }

  private async launch(spec: NodeSpec, port?: number): Promise<Running> {
    const cluster = this.cluster(spec.cluster)!;
    const listenPort = port ?? (await freePort());
    const entry = await entryArgs('backend-node/src/main.ts');
    // Once stopping, an action still under way must not leave a process behind (checked with no await until the spawn).
    if (this.stopped) throw new Error('Conveyor is stopping');
    const dir = join(this.options.dataDir, spec.cluster, spec.id);
    mkdirSync(dir, { recursive: true });
    const child = startChild(
      `backend node ${spec.id}`,
      process.execPath,
      [...serverNodeArgs(), ...entry, '--node-id', spec.id, '--cluster-id', spec.cluster, '--data-dir', dir, '--listen', `127.0.0.1:${listenPort}`, '--zookeeper', this.options.zookeeper, '--zk-root', ZK_ROOT, '--min-insync', String(cluster.minInSync)],
      { cwd: this.options.repoRoot, logFile: join(this.options.dataDir, 'logs', `${spec.id}.log`) },
    );
    const running = { child, port: listenPort };
    this.running.set(spec.id, running);
    return running;
  }

  private async stopNode(id: string): Promise<void> {
    const running = this.running.get(id);
    if (!running) return;
    await stopChild(running.child);
    this.running.delete(id);
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.running.keys()].reverse()) await this.stopNode(id);
  }

  private exitedEarly(ids: string[]): () => string | undefined {
    return () => {
      for (const id of ids) {
        const c = this.running.get(id)?.child;
        if (c && (c.process.exitCode !== null || c.process.signalCode !== null)) return `${c.name} exited early; see ${c.logFile}`;
      }
      return undefined;
    };
  }

  /** The cluster's coordination record, straight from ZooKeeper. */
  async state(cluster: string): Promise<ClusterState | undefined> {
    const session = this.requireSession();
    return (await readClusterState(session.client, ZK_ROOT, cluster, session.opTimeoutMs))?.state;
  }

  private requireSession(): ZkSession {
    if (!this.session) throw new Error('ZooKeeper is not connected yet');
    return this.session;
  }

  /** Waits until the cluster has a leader and its in-sync set holds `include` and at least the minimum. */
  async waitInSync(cluster: string, include: string[], what: string, watch: string[] = include): Promise<ClusterState> {
    const min = this.cluster(cluster)!.minInSync;
    let seen: ClusterState | undefined;
    await waitUntil(what, async () => {
      seen = await this.state(cluster);
      return !!seen?.leader && seen.isr.length >= min && include.every((id) => seen!.isr.includes(id)) && (await this.leaderAnswers(seen.leader));
    }, WAIT_MS, this.exitedEarly(watch));
    return seen!;
  }

  private alive(id: string): boolean {
    const child = this.running.get(id)?.child;
    return !!child && child.process.exitCode === null && child.process.signalCode === null;
  }

  private async nodeStatus(id: string): Promise<NodeStatus | undefined> {
    const running = this.running.get(id);
    if (!running) return undefined;
    const res = await request(`http://127.0.0.1:${running.port}/status`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
    const status = (await res.body.json()) as NodeStatus;
    return res.statusCode === 200 ? status : undefined;
  }

  private async leaderAnswers(id: string): Promise<boolean> {
    if (!this.running.has(id)) return true; // not ours to check
    return (await this.nodeStatus(id))?.role === 'leader';
  }

  /**
   * Waits until a (re)started node has fetched the whole log as it stood at `logEnd` and is in the
   * in-sync set. Membership alone would not do: right after a restart the leader may not have
   * noticed the node was gone.
   */
  private async waitCaughtUp(cluster: string, id: string, logEnd: number, startedAt: number, what: string): Promise<void> {
    await this.waitInSync(cluster, [id], what);
    await waitUntil(what, async () => {
      const status = await this.nodeStatus(id);
      const state = await this.state(cluster);
      const fetching = status?.role === 'leader' || (status?.lastFetchAt ?? 0) >= startedAt;
      return !!status && fetching && status.logEnd >= logEnd && !!state?.isr.includes(id);
    }, WAIT_MS, this.exitedEarly([id]));
  }

  /** The current leader's log end (0 if no leader answers). */
  private async leaderLogEnd(cluster: string): Promise<number> {
    const leader = (await this.state(cluster))?.leader;
    return (leader ? (await this.nodeStatus(leader).catch(() => undefined))?.logEnd : undefined) ?? 0;
  }

  async topology(): Promise<ClusterTopology[]> {
    return Promise.all(
      this.layout.topology.clusters.map(async (c) => {
        const state = this.session ? await this.state(c.id).catch(() => undefined) : undefined;
        return {
          ...c,
          epoch: state?.epoch ?? null,
          leader: state?.leader ?? null,
          isr: state?.isr ?? [],
          nodes: nodesOf(this.layout, c.id).filter((n) => n.standing !== 'removed').map((n) => {
            const r = this.running.get(n.id);
            const running = !!r && r.child.process.exitCode === null && r.child.process.signalCode === null;
            return { id: n.id, cluster: n.cluster, standing: n.standing, url: r ? `http://127.0.0.1:${r.port}` : null, pid: r?.child.process.pid ?? null, running };
          }),
        };
      }),
    );
  }

  // ------------------------------------------------------------------ operator actions

  /** A new replicated cluster; the metadata service finds it in ZooKeeper and places queues on it. */
  async addCluster(replicas: number): Promise<ClusterSpec> {
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 7) throw new OperatorError('usage', `--replicas must be a whole number from 1 to 7, not ${replicas}.`);
    const id = nextClusterId(this.layout);
    const fresh = initialLayout(1, replicas);
    const spec: ClusterSpec = { id, replicas, minInSync: minInSyncFor(replicas) };
    const nodes = fresh.topology.nodes.map((n) => ({ ...n, id: n.id.replace(/^c1/, id), cluster: id }));
    this.layout.topology.clusters.push(spec);
    this.layout.topology.nodes.push(...nodes);
    this.save();
    try {
      for (const n of nodes) await this.launch(n);
      this.options.onChange();
      await this.waitInSync(id, [], `a leader in the new cluster ${id}`, nodes.map((n) => n.id));
      if (this.metadataUrl) {
        const url = `${this.metadataUrl}/v1/clusters`;
        await waitUntil(`the metadata service to see cluster ${id}`, async () => {
          const res = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
          const { clusters } = (await res.body.json()) as { clusters?: Array<{ id: string; leader: string | null; nodes: Array<{ id: string; live: boolean }> }> };
          // Placement takes a cluster once its leader is live in the metadata service's cache, not merely named.
          return !!clusters?.some((c) => c.id === id && c.leader && c.nodes.some((n) => n.id === c.leader && n.live));
        }, WAIT_MS);
      }
    } catch (error) {
      // Nothing half-started stays: the nodes stop and the layout forgets the cluster.
      for (const n of nodes) await this.stopNode(n.id);
      this.layout.topology.clusters = this.layout.topology.clusters.filter((c) => c.id !== id);
      this.layout.topology.nodes = this.layout.topology.nodes.filter((n) => n.cluster !== id);
      this.save();
      this.options.onChange();
      throw error;
    }
    return spec;
  }

  /** A new, empty node joins a cluster: it catches up from the leader (snapshot and log tail) and enters the in-sync set. */
  async addNode(cluster: string): Promise<NodeSpec> {
    if (!this.cluster(cluster)) throw new OperatorError('usage', `There is no cluster ${cluster}; clusters: ${this.layout.topology.clusters.map((c) => c.id).join(', ')}.`);
    const spec: NodeSpec = { id: nextNodeId(this.layout, cluster), cluster, standing: 'active' };
    this.layout.topology.nodes.push(spec);
    this.save();
    const logEnd = await this.leaderLogEnd(cluster);
    const startedAt = Date.now();
    await this.launch(spec);
    this.options.onChange();
    await this.waitCaughtUp(cluster, spec.id, logEnd, startedAt, `${spec.id} to catch up and join the in-sync set of ${cluster}`);
    return spec;
  }

  private activeNode(id: string): NodeSpec {
    const spec = this.spec(id);
    if (!spec || spec.standing === 'removed') throw new OperatorError('usage', `There is no node ${id}; nodes: ${this.layout.topology.nodes.filter((n) => n.standing !== 'removed').map((n) => n.id).join(', ')}.`);
    if (spec.standing !== 'active') throw new OperatorError('refused', `Node ${id} is ${spec.standing}.`);
    return spec;
  }

  /** Asks a node to hand its leadership over, if it leads, and waits for another node to lead. */
  private async moveLeadershipAway(spec: NodeSpec): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const state = await this.state(spec.cluster);
      if (state?.leader !== spec.id) return;
      const running = this.running.get(spec.id);
      if (!running || !this.alive(spec.id)) return;
      const res = await request(`http://127.0.0.1:${running.port}/admin/handoff`, { method: 'POST', headersTimeout: 30_000, bodyTimeout: 30_000 });
      const body = (await res.body.json()) as { error?: { message: string } };
      if (res.statusCode !== 200) throw new OperatorError('refused', `${spec.id} could not hand its leadership over: ${body.error?.message ?? `HTTP ${res.statusCode}`}`);
      await waitUntil(`another node of ${spec.cluster} to take the lead from ${spec.id}`, async () => {
        const s = await this.state(spec.cluster);
        return !!s?.leader && s.leader !== spec.id && (await this.leaderAnswers(s.leader));
      }, 20_000).catch(() => undefined);
    }
    const state = await this.state(spec.cluster);
    if (state?.leader === spec.id || !state?.leader) throw new Error(`leadership of ${spec.cluster} did not move away from ${spec.id}`);
  }

  /**
   * Takes a node out of service without losing a replica: makes sure another in-sync node holds a
   * replica in its place (adding one if the cluster would fall short of its replica count), marks
   * the node drained in ZooKeeper (it may no longer lead or be in sync), hands its leadership over
   * if it leads, waits until the leader has dropped it from the in-sync set, then stops it.
   */
  async drainNode(id: string): Promise<{ replacement: string | undefined }> {
    const spec = this.activeNode(id);
    const cluster = this.cluster(spec.cluster)!;
    let replacement: string | undefined;
    const others = nodesOf(this.layout, spec.cluster, 'active').filter((n) => n.id !== id);
    if (others.length < cluster.replicas) replacement = (await this.addNode(spec.cluster)).id;
    // The others must carry the cluster's writes on their own before this node leaves.
    await waitUntil(`${cluster.minInSync} in-sync node(s) of ${spec.cluster} besides ${id}`, async () => ((await this.state(spec.cluster))?.isr.filter((n) => n !== id).length ?? 0) >= cluster.minInSync, WAIT_MS);
    const session = this.requireSession();
    spec.standing = 'drained';
    this.save();
    await markDrained(session.client, ZK_ROOT, spec.cluster, id, session.opTimeoutMs);
    await this.moveLeadershipAway(spec);
    await waitUntil(`the leader of ${spec.cluster} to drop ${id} from the in-sync set`, async () => !((await this.state(spec.cluster))?.isr.includes(id) ?? true), WAIT_MS);
    await this.stopNode(id);
    this.options.onChange();
    return { replacement };
  }

  /** Takes a drained node out of the cluster's membership for good, and deletes its data. */
  async removeNode(id: string): Promise<void> {
    const spec = this.spec(id);
    if (!spec || spec.standing === 'removed') throw new OperatorError('usage', `There is no node ${id}; nodes: ${this.layout.topology.nodes.filter((n) => n.standing !== 'removed').map((n) => n.id).join(', ')}.`);
    const refusal = removalRefusal(this.layout, id);
    if (refusal) throw new OperatorError('refused', refusal);
    const session = this.requireSession();
    try {
      await removeMember(session.client, ZK_ROOT, spec.cluster, id, this.cluster(spec.cluster)!.minInSync, session.opTimeoutMs);
    } catch (error) {
      if (error instanceof MembershipRefused) throw new OperatorError('refused', error.message);
      throw error;
    }
    spec.standing = 'removed';
    this.save();
    rmSync(join(this.options.dataDir, spec.cluster, id), { recursive: true, force: true });
  }

  /**
   * Restarts one node without failing a client request: a leader hands its leadership over
   * first; a node stops only while the others meet the in-sync minimum; the restart is done once
   * the node is back in the in-sync set.
   */
  async restartNode(id: string): Promise<{ wasLeader: boolean }> {
    const spec = this.activeNode(id);
    const cluster = this.cluster(spec.cluster)!;
    const before = await this.state(spec.cluster);
    const wasLeader = before?.leader === id;
    // A node that is down already (killed, crashed) simply starts again.
    if (this.alive(id) && nodesOf(this.layout, spec.cluster, 'active').length > cluster.minInSync) {
      // Only stop it while the others can carry writes without it.
      await waitUntil(`${cluster.minInSync} in-sync node(s) of ${spec.cluster} besides ${id}`, async () => ((await this.state(spec.cluster))?.isr.filter((n) => n !== id).length ?? 0) >= cluster.minInSync, WAIT_MS);
      if (wasLeader) await this.moveLeadershipAway(spec);
    }
    const port = this.running.get(id)?.port;
    await this.stopNode(id);
    const logEnd = await this.leaderLogEnd(spec.cluster);
    const startedAt = Date.now();
    await this.launch(spec, port);
    this.options.onChange();
    await this.waitCaughtUp(spec.cluster, id, logEnd, startedAt, `${id} to catch up and rejoin the in-sync set of ${spec.cluster}`);
    return { wasLeader };
  }
}
