/**
 * A backend node's Prometheus metrics (prom-client), served at `GET /metrics`: how long writes
 * take to commit on the leader (append to high watermark: every in-sync replica has persisted
 * them), how long LevelDB batch writes take (synced ones carry new log records; unsynced ones
 * state alone), the node's replication positions and, on the leader, each follower's lag; plus
 * Node's default process metrics (event loop delay, GC, memory). One registry per node.
 */
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the gauges are set from, at each scrape (a node's status). */
export interface NodePositions {
  role: string;
  epoch: number;
  isr: readonly string[];
  logStart: number;
  logEnd: number;
  highWatermark: number;
  appliedEnd: number;
  followers?: Readonly<Record<string, { lag: number; inSync: boolean }>>;
}

// Commits and synced writes take about a millisecond on a quiet disk; the tail is what matters.
const DURATION_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

export class NodeMetrics {
  readonly registry = new Registry();
  /** Leader only: one observation per write operation (a batch of sends, a receive, a delete batch...). */
  readonly commitSeconds: Histogram;
  readonly storageWriteSeconds: Histogram<'synced'>;
  private readonly leader: Gauge;
  private readonly epoch: Gauge;
  private readonly isrMembers: Gauge;
  private readonly positions: Gauge<'position'>;
  private readonly followerLag: Gauge<'follower' | 'in_sync'>;

  constructor(private readonly positionsOf: () => NodePositions) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.commitSeconds = new Histogram({ name: 'conveyor_node_commit_duration_seconds', help: 'On the leader: from appending a write to the log to its commit (persisted by every in-sync replica), per operation.', buckets: DURATION_BUCKETS_S, registers });
    this.storageWriteSeconds = new Histogram({ name: 'conveyor_node_storage_write_duration_seconds', help: 'Writes of log records (to their segment) and state (to LevelDB): synced when they carry either, not for a checkpoint alone.', labelNames: ['synced'], buckets: DURATION_BUCKETS_S, registers });
    this.leader = new Gauge({ name: 'conveyor_node_leader', help: '1 while this node leads its cluster, else 0.', registers });
    this.epoch = new Gauge({ name: 'conveyor_node_epoch', help: 'The newest leader epoch this node knows.', registers });
    this.isrMembers = new Gauge({ name: 'conveyor_node_isr_members', help: 'Members of the in-sync replica set, as this node knows it.', registers });
    this.positions = new Gauge({ name: 'conveyor_node_log_position', help: 'Log offsets of this node: log_start, log_end, high_watermark (applied_end on followers), applied_end.', labelNames: ['position'], registers });
    this.followerLag = new Gauge({ name: 'conveyor_node_follower_lag_records', help: 'On the leader: records each follower has yet to persist.', labelNames: ['follower', 'in_sync'], registers });
  }

  /** The Prometheus text of every metric, gauges set from the node as it is now. */
  async scrape(): Promise<string> {
    const p = this.positionsOf();
    this.leader.set(p.role === 'leader' ? 1 : 0);
    this.epoch.set(p.epoch);
    this.isrMembers.set(p.isr.length);
    this.positions.set({ position: 'log_start' }, p.logStart);
    this.positions.set({ position: 'log_end' }, p.logEnd);
    this.positions.set({ position: 'high_watermark' }, p.highWatermark);
    this.positions.set({ position: 'applied_end' }, p.appliedEnd);
    // Followers come and go with leadership: only the current ones have series.
    this.followerLag.reset();
    for (const [id, f] of Object.entries(p.followers ?? {})) this.followerLag.set({ follower: id, in_sync: String(f.inSync) }, f.lag);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
