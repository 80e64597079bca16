/**
 * One backend node of a cluster: its storage, its place in the replicated log, and its role.
 *
 * Roles change only here, one change at a time (`reconcile`):
 *   starting → follower                 after the state and log are loaded
 *   follower → leader                   after winning an election (ISR member, epoch raised by CAS)
 *   leader   → follower                 when deposed: a newer epoch, a lost lock or lease, a failed write
 * A leader that steps down drops its speculative in-memory state and reloads what is on disk,
 * which holds only committed records.
 */
import { performance } from 'node:perf_hooks';
import { ConveyorError } from '@conveyor/client-sdk/wire';
import { ClusterCoordinator } from '../coordination/cluster-coordinator.ts';
import { QueueEngine } from '../engine/engine.ts';
import { NodeMetrics } from '../observability/node-metrics.ts';
import { QueueStateMachine } from '../queue/state-machine.ts';
import { LevelQueueStore } from '../storage/level-store.ts';
import { WriteSet } from '../storage/write-set.ts';
import type { ReplicationStore } from '../storage/replication-store.ts';
import { bodyKey } from '../storage/keys.ts';
import { pack } from 'msgpackr';
import { Follower, type LeaderTarget } from '../replication/follower.ts';
import { LeaderPipeline } from '../replication/leader.ts';
import { createHttpPeerTransport, type PeerTransport } from '../replication/peer-transport.ts';
import { ReplicaLog } from '../replication/replica-log.ts';
import type { FetchRequest, FetchResponse } from '../replication/types.ts';

export interface ReplicaNodeOptions {
  nodeId: string;
  clusterId: string;
  dataDir: string;
  /** URL other nodes and clients use to reach this node. */
  advertisedUrl: string;
  zookeeper: string;
  zkRoot: string;
  minInSync: number;
  sessionTimeoutMs: number;
  replicaLagMs: number;
  fetchWaitMs: number;
  /** How long the leader keeps log records before trimming them (see LeaderOptions.logRetentionMs). */
  logRetentionMs?: number;
  log: (message: string, extra?: Record<string, unknown>) => void;
}

export type Role = 'starting' | 'follower' | 'leader';

export interface NodeStatus {
  nodeId: string;
  clusterId: string;
  role: Role;
  epoch: number;
  leader: string | null;
  isr: string[];
  logStart: number;
  logEnd: number;
  highWatermark: number;
  appliedEnd: number;
  leaseValid: boolean;
  followers?: Record<string, { ackedEnd: number; appliedEnd: number; lag: number; inSync: boolean }>;
  /** A follower's last successful fetch from its leader (ms since the epoch). */
  lastFetchAt?: number;
  /** The leader's per-queue counters. */
  queues?: Record<string, { visible: number; inflight: number; delayed: number }>;
}

async function loadMachine(store: LevelQueueStore, now: number): Promise<QueueStateMachine> {
  const machine = new QueueStateMachine();
  for (const queue of await store.load()) machine.loadQueue(queue.record, queue.metas, queue.dedup, now);
  machine.setQueueIdFloor(await store.loadQueueIdFloor());
  return machine;
}

export class ReplicaNode {
  role: Role = 'starting';
  private knownEpoch: number;
  private machine: QueueStateMachine;
  private follower: Follower | undefined;
  private leader: LeaderPipeline | undefined;
  private engineValue: QueueEngine | undefined;
  private readonly coordinator: ClusterCoordinator;
  private readonly transport: PeerTransport;
  private reconciling = false;
  private reconcileAgain = false;
  private changeWaiters = new Set<() => void>();
  private closed = false;
  private started = false;
  /** After handing leadership over, this node stays out of elections until then (ms, performance clock). */
  private noElectionUntil = 0;

  /** Prometheus metrics of this node (served at GET /metrics). */
  readonly metrics: NodeMetrics;

  private constructor(
    private readonly options: ReplicaNodeOptions,
    private readonly store: LevelQueueStore,
    private readonly replication: ReplicationStore,
    private readonly replicaLog: ReplicaLog,
    machine: QueueStateMachine,
  ) {
    this.machine = machine;
    this.metrics = new NodeMetrics(() => this.positions());
    replication.onWrite = (synced, seconds) => this.metrics.storageWriteSeconds.observe({ synced: String(synced) }, seconds);
    this.knownEpoch = replicaLog.epochs.latestEpoch();
    this.transport = createHttpPeerTransport();
    this.coordinator = new ClusterCoordinator({
      connectString: options.zookeeper,
      root: options.zkRoot,
      clusterId: options.clusterId,
      nodeId: options.nodeId,
      address: options.advertisedUrl,
      sessionTimeoutMs: options.sessionTimeoutMs,
      // Shorter than the session: a partitioned leader stops before ZooKeeper could expire it.
      leaseMs: Math.floor(options.sessionTimeoutMs * 0.6),
      log: options.log,
    });
    this.coordinator.on('change', () => {
      this.wakeChangeWaiters();
      this.reconcile();
    });
    this.coordinator.on('sessionLost', () => {
      if (this.role === 'leader') void this.stepDown('ZooKeeper session expired');
    });
  }

  /** Opens storage, loads the log and the committed state. Fails with a StorageError on a bad database. */
  static async open(options: ReplicaNodeOptions): Promise<ReplicaNode> {
    const store = await LevelQueueStore.open(options.dataDir);
    const replication = store.replication();
    const replicaLog = new ReplicaLog(replication, await replication.load());
    const machine = await loadMachine(store, Date.now());
    return new ReplicaNode(options, store, replication, replicaLog, machine);
  }

  async start(): Promise<void> {
    this.startFollowing();
    await this.coordinator.start();
    this.started = true;
    this.reconcile();
  }

  /** The engine, if this node leads and may serve; otherwise a NotLeader error naming the leader. */
  engine(): QueueEngine {
    if (this.role === 'leader' && this.engineValue && this.coordinator.leaseValid()) return this.engineValue;
    const leader = this.coordinator.state?.leader ?? undefined;
    const address = leader ? this.coordinator.liveNodes.get(leader)?.address : undefined;
    throw new ConveyorError('NotLeader', leader && leader !== this.options.nodeId ? `This node does not lead cluster ${this.options.clusterId}; ${leader} does.` : `Cluster ${this.options.clusterId} has no leader at the moment.`, {
      node: this.options.nodeId,
      leader: leader && leader !== this.options.nodeId ? leader : undefined,
      leaderAddress: leader && leader !== this.options.nodeId ? address : undefined,
    });
  }

  async handleFetch(req: FetchRequest): Promise<FetchResponse> {
    if (req.clusterId !== this.options.clusterId) {
      throw new ConveyorError('InvalidParameterValue', `This node belongs to cluster ${this.options.clusterId}, not ${req.clusterId}.`, { node: this.options.nodeId });
    }
    // A request's epoch is only a claim: roles change on ZooKeeper's word, so look there.
    if (req.epoch > this.knownEpoch) this.reconcile();
    const leader = this.leader;
    if (this.role !== 'leader' || !leader || !this.coordinator.leaseValid()) this.engine(); // throws NotLeader
    return leader!.handleFetch(req);
  }

  /** Streams this node's applied state, for a follower that must start over. */
  snapshot(): AsyncGenerator<[string, Buffer] | import('../replication/types.ts').SnapshotHeader> {
    if (this.role !== 'leader') this.engine();
    return this.replication.exportSnapshot();
  }

  status(): NodeStatus {
    const status = this.positions();
    if (this.engineValue) status.queues = this.engineValue.queueCounts();
    return status;
  }

  /** The status without the per-queue counters (cheap: for every metrics scrape). */
  private positions(): NodeStatus {
    const state = this.coordinator.state;
    const status: NodeStatus = {
      nodeId: this.options.nodeId,
      clusterId: this.options.clusterId,
      role: this.role,
      epoch: this.role === 'leader' && this.leader ? this.leader.epoch : (state?.epoch ?? this.knownEpoch),
      leader: state?.leader ?? null,
      isr: this.leader ? this.leader.bookkeeping.isr : (state?.isr ?? []),
      logStart: this.replicaLog.logStart,
      logEnd: this.replicaLog.logEnd,
      highWatermark: this.leader ? this.leader.bookkeeping.highWatermark : this.replicaLog.appliedEnd,
      appliedEnd: this.replicaLog.appliedEnd,
      leaseValid: this.coordinator.leaseValid(),
    };
    if (this.leader) status.followers = this.leader.bookkeeping.progress();
    if (this.follower?.lastFetchAt !== undefined) status.lastFetchAt = this.follower.lastFetchAt;
    return status;
  }

  /**
   * Body keys for messages whose bodies live in log records below `point`: live ones (in
   * `machine`) and `extra`. Written in the same batch that trims those records.
   */
  private async materializeBodies(point: number, machine: QueueStateMachine, extra: ReadonlyArray<{ id: string; logRef: number }>): Promise<WriteSet> {
    const refs = [...extra];
    // Records before the log start were trimmed earlier, after their bodies got keys of their own.
    for (const meta of machine.messagesLoggedBetween(this.replicaLog.logStart, point)) refs.push({ id: meta.id, logRef: meta.logRef! });
    const writes: WriteSet = new WriteSet();
    for (let i = 0; i < refs.length; i += 1_000) {
      const chunk = refs.slice(i, i + 1_000);
      const bodies = await this.replicaLog.readBodies(chunk);
      chunk.forEach((ref, j) => {
        const body = bodies[j];
        if (body) writes.fold(bodyKey(ref.id), pack(body));
      });
    }
    return writes;
  }

  private noteEpoch(epoch: number): void {
    if (epoch <= this.knownEpoch) return;
    this.knownEpoch = epoch;
    if (this.role === 'leader' && this.leader && this.leader.epoch < epoch) void this.stepDown(`epoch ${epoch} exists`);
  }

  private target(): LeaderTarget | undefined {
    const state = this.coordinator.state;
    if (!state?.leader || state.leader === this.options.nodeId) return undefined;
    const info = this.coordinator.liveNodes.get(state.leader);
    return info ? { id: state.leader, url: info.address, epoch: state.epoch } : undefined;
  }

  private waitForChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.changeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.changeWaiters.add(done);
    });
  }

  private wakeChangeWaiters(): void {
    for (const wake of [...this.changeWaiters]) wake();
  }

  private startFollowing(): void {
    this.role = 'follower';
    this.follower = new Follower(this.replicaLog, this.machine, this.replication, {
      nodeId: this.options.nodeId,
      clusterId: this.options.clusterId,
      transport: this.transport,
      target: () => this.target(),
      waitForChange: (ms) => this.waitForChange(ms),
      knownEpoch: () => this.knownEpoch,
      onEpochSeen: (epoch) => this.noteEpoch(epoch),
      reloadState: async () => (this.machine = await loadMachine(this.store, Date.now())),
      log: this.options.log,
      fetchWaitMs: this.options.fetchWaitMs,
      materializeBodies: (point, machine) => this.materializeBodies(point, machine, []),
    });
    this.follower.start();
  }

  /** Brings the role in line with ZooKeeper's view. Runs one at a time; a change meanwhile runs it again. */
  private reconcile(): void {
    if (this.closed || !this.started) return;
    if (this.reconciling) {
      this.reconcileAgain = true;
      return;
    }
    this.reconciling = true;
    void this.reconcileOnce()
      .catch((error: unknown) => this.options.log('reconcile failed', { error: (error as Error).message }))
      .finally(() => {
        this.reconciling = false;
        if (this.reconcileAgain && !this.closed) {
          this.reconcileAgain = false;
          this.reconcile();
        }
      });
  }

  private async reconcileOnce(): Promise<void> {
    const state = this.coordinator.state;
    if (state && state.epoch > this.knownEpoch) this.noteEpoch(state.epoch);
    if (this.role === 'leader') {
      const lock = this.coordinator.leaderLock;
      if ((state && (state.epoch !== this.leader?.epoch || state.leader !== this.options.nodeId)) || (lock !== undefined && lock !== this.options.nodeId)) {
        await this.stepDown('ZooKeeper names another leader');
      }
      return;
    }
    if (this.role === 'follower' && performance.now() < this.noElectionUntil) {
      // Look again once the hold is over, in case no other node took the lead.
      setTimeout(() => this.reconcile(), this.noElectionUntil - performance.now() + 10).unref();
      return;
    }
    if (this.role === 'follower' && this.coordinator.leaderLock === undefined && this.coordinator.leaseValid()) {
      const elected = await this.coordinator.tryLead();
      if (elected) await this.becomeLeader(elected.epoch, elected.isr);
    }
  }

  private async becomeLeader(epoch: number, isr: string[]): Promise<void> {
    await this.follower?.stop();
    this.machine = this.follower?.stateMachine ?? this.machine;
    this.follower = undefined;
    this.knownEpoch = Math.max(this.knownEpoch, epoch);
    const pipeline = new LeaderPipeline(this.replicaLog, {
      nodeId: this.options.nodeId,
      epoch,
      isr,
      minInSync: this.options.minInSync,
      replicaLagMs: this.options.replicaLagMs,
      clock: Date.now,
      updateIsr: (next) => this.coordinator.updateIsr(epoch, next),
      leaseValid: () => this.coordinator.leaseValid(),
      onDeposed: (reason) => void this.stepDown(reason),
      materializeBodies: (point, extra) => this.materializeBodies(point, this.machine, extra),
      excluded: () => this.coordinator.retired,
      logRetentionMs: this.options.logRetentionMs,
      onCommitted: (seconds) => this.metrics.commitSeconds.observe(seconds),
    });
    // Records already in the log but not yet applied will commit in this epoch: apply them now,
    // holding their state back until they do.
    for (let from = this.replicaLog.appliedEnd; from < this.replicaLog.logEnd; ) {
      const batch = await this.replicaLog.readEntries(from, 5_000);
      if (batch.length === 0) break;
      for (const entry of batch) if (entry.payload.type !== 'epochStart') pipeline.holdState(entry.offset, this.machine.apply(entry.payload, entry.offset));
      from = batch.at(-1)!.offset + 1;
    }
    this.leader = pipeline;
    this.engineValue = QueueEngine.over(this.machine, pipeline, { store: this.store, bodyCacheBytes: 0, logBodies: (refs) => this.replicaLog.readEncodedBodies(refs) });
    this.role = 'leader';
    this.options.log('leading', { epoch, isr, logEnd: this.replicaLog.logEnd, appliedEnd: this.replicaLog.appliedEnd });
    void pipeline.appendControl({ type: 'epochStart', ts: Date.now(), epoch, leader: this.options.nodeId }).catch(() => {});
  }

  /**
   * Graceful leader resignation: stop taking writes, let every record commit (so each in-sync
   * follower has the whole log), then step down and stay out of the next election for `holdMs`,
   * so another in-sync node takes over. Answers who led before and whether this node handed over.
   */
  async handOff(holdMs = 5_000): Promise<{ handedOff: boolean; leader: string | null }> {
    const pipeline = this.leader;
    if (this.role !== 'leader' || !pipeline) return { handedOff: false, leader: this.coordinator.state?.leader ?? null };
    const others = pipeline.bookkeeping.isr.filter((id) => id !== this.options.nodeId && !this.coordinator.retired.has(id));
    if (others.length === 0) throw new ConveyorError('ServiceUnavailable', `No other in-sync node of cluster ${this.options.clusterId} can take the lead; add a node first.`, { node: this.options.nodeId });
    const committed = await pipeline.drainForHandoff(10_000);
    if (!committed) this.options.log('handoff: not every record committed in time; stepping down anyway');
    this.noElectionUntil = performance.now() + holdMs;
    await this.stepDown('handing leadership over');
    return { handedOff: true, leader: this.options.nodeId };
  }

  private async stepDown(reason: string): Promise<void> {
    if (this.role !== 'leader') return;
    this.options.log('stepping down', { reason });
    this.role = 'starting';
    const pipeline = this.leader;
    this.leader = undefined;
    pipeline?.fail(new ConveyorError('NotLeader', `This node stopped leading cluster ${this.options.clusterId}: ${reason}.`, { node: this.options.nodeId }));
    await pipeline?.quiesce();
    await this.engineValue?.close();
    this.engineValue = undefined;
    // Drop what was appended but never persisted, and the speculative state with it.
    await this.replicaLog.truncateTo(this.replicaLog.persistedEnd);
    this.machine = await loadMachine(this.store, Date.now());
    await this.coordinator.resign();
    this.startFollowing();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.follower?.stop();
    this.leader?.fail(new ConveyorError('ServiceUnavailable', 'The node is shutting down.', { node: this.options.nodeId }));
    await this.leader?.quiesce();
    await this.engineValue?.close();
    await this.coordinator.close();
    await this.transport.close();
    await this.store.close();
  }
}
