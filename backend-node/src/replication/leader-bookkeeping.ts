/**
 * What a leader knows about its followers, as a pure object with an injected clock: how far each
 * has persisted, the high watermark, and who should leave or join the in-sync set. The driver
 * performs the ISR changes (by compare-and-set in ZooKeeper) and only then calls setIsr, so the
 * high watermark never moves past a follower that has not left the set yet.
 */
export interface BookkeepingOptions {
  replicaLagMs: number;
  minInSync: number;
}

interface FollowerProgress {
  ackedEnd: number;
  appliedEnd: number;
  lastFetchAt: number;
  /** Leader's log end when this follower last fetched; reaching it later means it was caught up then. */
  logEndAtLastFetch: number;
  caughtUpAt: number;
}

export class LeaderBookkeeping {
  private readonly followers = new Map<string, FollowerProgress>();
  private isrSet: Set<string>;
  private hw: number;
  /**
   * This leader's log end at election, where its epoch starts. Records before it may have been
   * acknowledged by an earlier leader while this one's HW still lags (it learns the HW late), so
   * a follower joins the ISR only once it has them all, or it could be elected without them
   * (Kafka's leaderEpochStartOffset check, KAFKA-7128).
   */
  private readonly epochStartOffset: number;
  logEnd: number;
  persistedEnd: number;
  selfAppliedEnd: number;

  constructor(
    readonly self: string,
    isr: readonly string[],
    private readonly options: BookkeepingOptions,
    start: { logEnd: number; persistedEnd: number; highWatermark: number; appliedEnd: number },
    now: number,
  ) {
    this.isrSet = new Set([...isr, self]);
    this.logEnd = start.logEnd;
    this.persistedEnd = start.persistedEnd;
    this.hw = start.highWatermark;
    this.epochStartOffset = start.logEnd;
    this.selfAppliedEnd = start.appliedEnd;
    // Followers in the ISR at election time get a full lag period to show up.
    for (const id of this.isrSet) if (id !== self) this.followers.set(id, { ackedEnd: 0, appliedEnd: 0, lastFetchAt: now, logEndAtLastFetch: 0, caughtUpAt: now });
  }

  get isr(): string[] {
    return [...this.isrSet].sort();
  }

  get highWatermark(): number {
    return this.hw;
  }

  canAcceptWrites(): boolean {
    return this.isrSet.size >= this.options.minInSync;
  }

  /** A follower fetched from `fetchOffset`: it has persisted everything before it. Returns true if the HW moved. */
  onFetch(followerId: string, fetchOffset: number, appliedEnd: number, now: number): boolean {
    const p = this.followers.get(followerId) ?? { ackedEnd: 0, appliedEnd: 0, lastFetchAt: now, logEndAtLastFetch: this.logEnd, caughtUpAt: 0 };
    p.ackedEnd = fetchOffset;
    p.appliedEnd = appliedEnd;
    if (fetchOffset >= this.logEnd) p.caughtUpAt = now;
    else if (fetchOffset >= p.logEndAtLastFetch) p.caughtUpAt = Math.max(p.caughtUpAt, p.lastFetchAt);
    p.lastFetchAt = now;
    p.logEndAtLastFetch = this.logEnd;
    this.followers.set(followerId, p);
    return this.recompute();
  }

  onAppend(logEnd: number): void {
    this.logEnd = logEnd;
  }

  onPersisted(end: number): boolean {
    this.persistedEnd = Math.max(this.persistedEnd, end);
    return this.recompute();
  }

  /**
   * Members to drop (lagging past replicaLagMs, or `excluded`: drained by an operator) and
   * followers to add (caught up to the HW and the epoch start, and not excluded).
   */
  isrChanges(now: number, excluded: ReadonlySet<string> = new Set()): { shrink: string[]; expand: string[] } {
    const shrink: string[] = [];
    const expand: string[] = [];
    for (const [id, p] of this.followers) {
      const inIsr = this.isrSet.has(id);
      // Behind for too long, or silent for too long (Kafka's replica.lag.time.max.ms covers both).
      const lagging = (p.ackedEnd < this.logEnd && now - p.caughtUpAt > this.options.replicaLagMs) || now - p.lastFetchAt > this.options.replicaLagMs;
      if (inIsr && (lagging || excluded.has(id))) shrink.push(id);
      else if (excluded.has(id)) continue;
      else if (!inIsr && p.ackedEnd >= Math.max(this.hw, this.epochStartOffset) && now - p.lastFetchAt <= this.options.replicaLagMs) expand.push(id);
    }
    return { shrink: shrink.sort(), expand: expand.sort() };
  }

  /** Adopts an ISR that ZooKeeper now holds. Returns true if the HW moved. */
  setIsr(isr: readonly string[]): boolean {
    this.isrSet = new Set([...isr, this.self]);
    return this.recompute();
  }

  /** Offset below which every replica that reported has applied the log (trimmable). */
  trimPoint(replicas: readonly string[]): number {
    let point = Math.min(this.selfAppliedEnd, this.hw);
    for (const id of replicas) {
      if (id === this.self) continue;
      const p = this.followers.get(id);
      point = Math.min(point, p ? p.appliedEnd : 0);
    }
    return point;
  }

  progress(): Record<string, { ackedEnd: number; appliedEnd: number; lag: number; inSync: boolean }> {
    const out: Record<string, { ackedEnd: number; appliedEnd: number; lag: number; inSync: boolean }> = {};
    for (const [id, p] of this.followers) out[id] = { ackedEnd: p.ackedEnd, appliedEnd: p.appliedEnd, lag: this.logEnd - p.ackedEnd, inSync: this.isrSet.has(id) };
    return out;
  }

  // HW = what every ISR member (the leader included) has persisted; it never goes back.
  private recompute(): boolean {
    let hw = this.persistedEnd;
    for (const id of this.isrSet) {
      if (id === this.self) continue;
      hw = Math.min(hw, this.followers.get(id)?.ackedEnd ?? 0);
    }
    if (hw > this.hw) {
      this.hw = hw;
      return true;
    }
    return false;
  }
}
