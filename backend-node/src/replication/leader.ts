/**
 * The leader's side of replication, and the engine's commit pipeline while this node leads.
 *
 * A decided record is appended to the log in memory and applied to the (speculative) in-memory
 * state at once; its storage mutations are encoded right then and held back. One loop persists
 * new records (one synced batch per round, with the held-back state of records that have since
 * committed), and followers fetch the records, which acknowledges what they persisted before.
 * A client is answered when its record is below the high watermark: persisted by every member of
 * the in-sync set, which has at least minInSync members. So the state on disk only ever holds
 * committed records, and a deposed leader can reload it and drop its speculation.
 */
import { ConveyorError } from '@conveyor/client-sdk/wire';
import type { CommitPipeline } from '../engine/engine.ts';
import type { QueueLogRecord, StoreMutation } from '../queue/types.ts';
import { toWriteSet, type WriteSet } from '../storage/write-set.ts';
import { divergence } from './epoch-cache.ts';
import { LeaderBookkeeping } from './leader-bookkeeping.ts';
import type { ReplicaLog } from './replica-log.ts';
import { stateWriteDueAt, type FetchRequest, type FetchResponse, type LogPayload } from './types.ts';

export interface LeaderOptions {
  nodeId: string;
  epoch: number;
  isr: readonly string[];
  minInSync: number;
  replicaLagMs: number;
  clock: () => number;
  /** Changes the ISR in ZooKeeper by compare-and-set; false if this leader's epoch is over. */
  updateIsr: (isr: string[]) => Promise<boolean>;
  /** True while this node may still act as leader (ZooKeeper lease held, epoch current). */
  leaseValid: () => boolean;
  /** Called once when the leader finds it has been deposed. */
  onDeposed: (reason: string) => void;
  /**
   * Before records below `point` are trimmed: copies the bodies they still hold for live messages
   * (and for `extra`, dropped by records not yet committed) into keys of their own.
   */
  materializeBodies: (point: number, extra: ReadonlyArray<{ id: string; logRef: number }>) => Promise<WriteSet>;
  /** Followers an operator drained: dropped from the in-sync set and never added back. */
  excluded?: () => ReadonlySet<string>;
  /**
   * Records are trimmed only once they are this old (default 0), so a message consumed within
   * that time is deleted while its body still lives in the log and never needs a copy of its own.
   */
  logRetentionMs?: number;
  /** Told each write's time from append to commit, in seconds (for metrics). */
  onCommitted?: (seconds: number) => void;
  /** When committed state that waits is due (default stateWriteDueAt: STATE_DELAY). */
  stateWriteDueAt?: (since: number, keys: number) => number;
}

interface Waiter {
  offset: number;
  /** performance.now() at the append of a write (not set for barriers). */
  appendedAt?: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * A parked follower fetch is woken for a new high watermark alone only after this delay: under
 * load a new record wakes it sooner and carries the watermark, so no round trip goes to it alone.
 * (Clients are answered at the watermark here; followers need it only to apply.)
 */
const HW_WAKE_DELAY_MS = 5;
const MAX_FETCH_RECORDS = 2_000;
/** Trim when at least this many records could go, so trims come in a few large deletes. */
const TRIM_MIN_RECORDS = 1_000;
/** Past this many records, replicas that are not in sync no longer hold trimming back (they will need a snapshot). */
const MAX_LOG_RECORDS = 500_000;
const TRIM_INTERVAL_MS = 2_000;


export class LeaderPipeline implements CommitPipeline {
  readonly bookkeeping: LeaderBookkeeping;
  /**
   * Each record's state, made into a write set when it is appended: values are encoded (metas
   * copied) then, as they are as of that record, since later records change the live objects.
   */
  private readonly heldState: Array<{ offset: number; at: number; writes: WriteSet }> = [];
  /**
   * The held-back state of the records that committed, folded into one set as they commit
   * (later records winning: a key written by several is stored once, foldWrite) until it is
   * written; `committedSince` is when the first of them was appended.
   */
  private committedState: WriteSet | undefined;
  private committedSince = 0;
  private waiters: Waiter[] = [];
  private fetchWakers = new Set<() => void>();
  private hwWake: NodeJS.Timeout | undefined;
  private wakeScheduled = false;
  private stateTimer: NodeJS.Timeout | undefined;
  /** Set when the state timer fires: what waits is written at the next pass. */
  private stateDue = false;
  private persisting = false;
  private persistScheduled = false;
  private failure: ConveyorError | undefined;
  private isrUpdate: Promise<void> | undefined;
  private trimRequest: number | undefined;
  /** Messages dropped by records above the HW whose bodies live in the log: a step-down would bring them back. */
  private speculativeDrops: Array<{ offset: number; refs: Array<{ id: string; logRef: number }> }> = [];
  private handingOff = false;
  /** The log end at each trim planning, oldest first: how far the log reached when. */
  private readonly logEndMarks: Array<{ at: number; logEnd: number }> = [];
  private readonly timer: NodeJS.Timeout;
  private readonly trimTimer: NodeJS.Timeout;

  constructor(private readonly log: ReplicaLog, private readonly options: LeaderOptions) {
    this.bookkeeping = new LeaderBookkeeping(
      options.nodeId,
      options.isr,
      { minInSync: options.minInSync, replicaLagMs: options.replicaLagMs },
      { logEnd: log.logEnd, persistedEnd: log.persistedEnd, highWatermark: log.appliedEnd, appliedEnd: log.appliedEnd },
      options.clock(),
    );
    this.timer = setInterval(() => this.maintainIsr(), Math.max(50, Math.floor(options.replicaLagMs / 4)));
    this.timer.unref();
    this.trimTimer = setInterval(() => this.planTrim(), TRIM_INTERVAL_MS);
    this.trimTimer.unref();
  }

  /** Plans a trim of what every replica has applied; the persist loop carries it out between writes. */
  private planTrim(): void {
    const replicas = [...new Set([...this.bookkeeping.isr, ...Object.keys(this.bookkeeping.progress())])];
    let point = Math.min(this.bookkeeping.trimPoint(replicas), this.retainedFrom());
    if (this.log.logEnd - this.log.logStart > MAX_LOG_RECORDS) point = Math.max(point, this.bookkeeping.trimPoint(this.bookkeeping.isr));
    if (point - this.log.logStart < TRIM_MIN_RECORDS) return;
    this.trimRequest = point;
    this.schedulePersist();
  }

  /** The first record still within the retention time (records before it may be trimmed). */
  private retainedFrom(): number {
    const now = this.options.clock();
    const retentionMs = this.options.logRetentionMs ?? 0;
    this.logEndMarks.push({ at: now, logEnd: this.log.logEnd });
    let from = this.log.logStart;
    while (this.logEndMarks.length > 0 && this.logEndMarks[0]!.at <= now - retentionMs) from = this.logEndMarks.shift()!.logEnd;
    return from;
  }

  get epoch(): number {
    return this.options.epoch;
  }

  /** Holds back state that came from applying an uncommitted record found in the log at election. */
  holdState(offset: number, mutations: readonly StoreMutation[]): void {
    this.heldState.push({ offset, at: this.options.clock(), writes: toWriteSet(mutations) });
    this.noteDrops(offset, mutations);
  }

  private noteDrops(offset: number, mutations: readonly StoreMutation[]): void {
    let refs: Array<{ id: string; logRef: number }> | undefined;
    for (const m of mutations) {
      if (m.op === 'delBody' && m.logRef !== undefined) (refs ??= []).push({ id: m.messageId, logRef: m.logRef });
    }
    if (refs) this.speculativeDrops.push({ offset, refs });
  }

  /** Appends a record that is not a queue operation (the epoch's first record). */
  appendControl(payload: LogPayload): Promise<void> {
    const entry = this.log.append(this.options.epoch, payload);
    this.bookkeeping.onAppend(this.log.logEnd);
    this.afterAppend();
    return this.waitFor(entry.offset);
  }

  // ---------------------------------------------------------------- CommitPipeline

  assertWritable(): void {
    if (this.failure) throw this.failure;
    if (this.handingOff) throw new ConveyorError('NotLeader', 'This node is handing its leadership over; retry at the next leader.', { node: this.options.nodeId });
    if (!this.options.leaseValid()) {
      throw new ConveyorError('NotLeader', 'This node has lost contact with ZooKeeper and no longer serves as leader.', { node: this.options.nodeId });
    }
    if (!this.bookkeeping.canAcceptWrites()) {
      throw new ConveyorError('ServiceUnavailable', `Not enough in-sync replicas: ${this.bookkeeping.isr.length} of the ${this.options.minInSync} required.`, { node: this.options.nodeId, isr: this.bookkeeping.isr.join(',') });
    }
  }

  nextOffset(): number {
    return this.log.logEnd;
  }

  commit(record: QueueLogRecord, mutations: readonly StoreMutation[]): Promise<void> {
    const entry = this.log.append(this.options.epoch, record);
    this.heldState.push({ offset: entry.offset, at: this.options.clock(), writes: toWriteSet(mutations) });
    this.noteDrops(entry.offset, mutations);
    this.bookkeeping.onAppend(this.log.logEnd);
    this.afterAppend();
    return this.waitFor(entry.offset, this.options.onCommitted ? performance.now() : undefined);
  }

  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.options.leaseValid()) return Promise.reject(new ConveyorError('NotLeader', 'This node no longer serves as leader.', { node: this.options.nodeId }));
    return this.log.logEnd > this.bookkeeping.highWatermark ? this.waitFor(this.log.logEnd - 1) : Promise.resolve();
  }

  private waitFor(offset: number, appendedAt?: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (offset < this.bookkeeping.highWatermark) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ offset, appendedAt, resolve, reject }));
  }

  private afterAppend(): void {
    // Records appended in this turn of the event loop go out together in one fetch answer.
    if (!this.wakeScheduled && this.fetchWakers.size > 0) {
      this.wakeScheduled = true;
      setImmediate(() => {
        this.wakeScheduled = false;
        this.wakeFetchers();
      });
    }
    this.schedulePersist();
  }

  private schedulePersist(): void {
    if (!this.persistScheduled && !this.persisting) {
      this.persistScheduled = true;
      setImmediate(() => {
        this.persistScheduled = false;
        void this.persistLoop();
      });
    }
  }

  // ---------------------------------------------------------------- persistence (group commit)

  private async persistLoop(): Promise<void> {
    if (this.persisting) return;
    this.persisting = true;
    try {
      while (!this.failure) {
        if (this.trimRequest !== undefined) {
          // Trims run here, between writes, so no checkpoint written concurrently can undo them.
          const point = this.trimRequest;
          this.trimRequest = undefined;
          const hw = this.bookkeeping.highWatermark;
          while (this.speculativeDrops.length > 0 && this.speculativeDrops[0]!.offset < hw) this.speculativeDrops.shift();
          const extra = this.speculativeDrops.flatMap((d) => d.refs.filter((r) => r.logRef < point));
          await this.log.trimBefore(point, await this.options.materializeBodies(point, extra));
        }
        const entries = this.log.unpersisted();
        // Everything below the HW is committed: its held-back state joins the set that waits, which
        // goes to disk with this batch or a later one (stateWriteDueAt, a handoff), the
        // checkpoint's applied end staying behind it meanwhile.
        this.foldCommittedState();
        const pending = this.committedState;
        const now = this.options.clock();
        const dueAt = pending ? (this.options.stateWriteDueAt ?? stateWriteDueAt)(this.committedSince, pending.size) : 0;
        const due = pending !== undefined && (this.handingOff || this.stateDue || now >= dueAt);
        if (due) {
          this.stateDue = false;
          this.committedState = undefined;
        }
        const hw = this.bookkeeping.highWatermark;
        const appliedEnd = due || !pending ? Math.max(hw, this.log.appliedEnd) : this.log.appliedEnd;
        if (entries.length === 0 && !due && appliedEnd <= this.log.appliedEnd) {
          // Nothing to write now: committed state that waits is written when its time comes.
          if (pending) this.stateTimer ??= setTimeout(() => {
            this.stateTimer = undefined;
            this.stateDue = true;
            this.schedulePersist();
          }, Math.max(1, dueAt - now));
          break;
        }
        const end = this.log.logEnd;
        // Persist before counting this node's copy toward the high watermark.
        await this.log.store.write({ entries, state: due ? [pending] : [], checkpoint: this.log.checkpoint(appliedEnd) });
        this.log.persistedEnd = Math.max(this.log.persistedEnd, end);
        this.log.appliedEnd = appliedEnd;
        this.bookkeeping.selfAppliedEnd = appliedEnd;
        if (this.bookkeeping.onPersisted(this.log.persistedEnd)) this.onHighWatermark();
      }
    } catch (error) {
      this.fail(new ConveyorError('ServiceUnavailable', `Storage write failed; this node steps down: ${(error as Error).message}`, { node: this.options.nodeId }, { cause: error }));
      this.options.onDeposed('storage failure');
    } finally {
      this.persisting = false;
    }
  }

  /** Moves the held-back state of records below the HW into the committed set, in log order. */
  private foldCommittedState(): void {
    const hw = this.bookkeeping.highWatermark;
    let n = 0;
    while (n < this.heldState.length && this.heldState[n]!.offset < hw) n++;
    if (n === 0) return;
    const committed = this.heldState.splice(0, n);
    let i = 0;
    if (!this.committedState) {
      // The first record's set takes the rest: the sets are this pipeline's to discard.
      this.committedState = committed[0]!.writes;
      this.committedSince = committed[0]!.at;
      i = 1;
    }
    for (; i < committed.length; i++) this.committedState.foldSet(committed[i]!.writes);
  }

  private onHighWatermark(): void {
    const hw = this.bookkeeping.highWatermark;
    let n = 0;
    while (n < this.waiters.length && this.waiters[n]!.offset < hw) n++;
    const done = this.waiters.splice(0, n);
    const observe = this.options.onCommitted;
    const now = observe && n > 0 ? performance.now() : 0;
    for (const w of done) {
      if (observe && w.appendedAt !== undefined) observe((now - w.appendedAt) / 1000);
      w.resolve();
    }
    this.hwWake ??= setTimeout(() => this.wakeFetchers(), HW_WAKE_DELAY_MS);
    // Write the newly committed state even if no new record comes to carry it.
    if (this.log.appliedEnd < hw) this.schedulePersist();
  }

  // ---------------------------------------------------------------- followers

  /** Serves a follower's fetch; holds it up to maxWaitMs when there is nothing new. */
  async handleFetch(req: FetchRequest): Promise<FetchResponse> {
    const epoch = this.options.epoch;
    if (req.epoch > epoch) {
      // Not trusted on its own (anyone can send a number); the node re-checks ZooKeeper.
      throw new ConveyorError('NotLeader', `Follower ${req.followerId} claims epoch ${req.epoch}, newer than this leader's ${epoch}.`, { node: this.options.nodeId, epoch });
    }
    if (this.failure) throw this.failure;
    // Records of this epoch past its log end cannot exist anywhere (a longer log from an older
    // epoch can: it diverges and is truncated below).
    if (req.fetchOffset > this.log.logEnd && req.lastFetchedEpoch >= epoch) {
      throw new ConveyorError('InvalidParameterValue', `Fetch offset ${req.fetchOffset} is past the log end ${this.log.logEnd}.`, { node: this.options.nodeId });
    }
    if (req.fetchOffset < this.log.logStart) return { kind: 'snapshotRequired', epoch, logStart: this.log.logStart };
    const diverged = divergence(this.log.epochs, this.log.logEnd, req.fetchOffset, req.lastFetchedEpoch);
    if (diverged) return { kind: 'diverging', epoch, divergingEpoch: diverged.epoch, endOffset: diverged.endOffset };
    if (req.fetchOffset > this.log.logEnd) {
      throw new ConveyorError('InvalidParameterValue', `Fetch offset ${req.fetchOffset} is past the log end ${this.log.logEnd}.`, { node: this.options.nodeId });
    }
    if (this.bookkeeping.onFetch(req.followerId, req.fetchOffset, req.appliedEnd, this.options.clock())) this.onHighWatermark();
    this.maintainIsr();
    if (req.fetchOffset >= this.log.logEnd && (req.maxWaitMs ?? 0) > 0) await this.waitForAppend(req.maxWaitMs!);
    const items = await this.log.read(req.fetchOffset, MAX_FETCH_RECORDS);
    return { kind: 'records', epoch, entries: items.map((i) => i.bytes), highWatermark: this.bookkeeping.highWatermark, logStart: this.log.logStart };
  }

  private waitForAppend(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.fetchWakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, maxWaitMs);
      this.fetchWakers.add(wake);
    });
  }

  private wakeFetchers(): void {
    if (this.hwWake) {
      clearTimeout(this.hwWake);
      this.hwWake = undefined;
    }
    if (this.fetchWakers.size === 0) return;
    const wakers = [...this.fetchWakers];
    this.fetchWakers.clear();
    for (const wake of wakers) wake();
  }

  // ISR changes go through ZooKeeper first; the bookkeeping adopts them only once written.
  private maintainIsr(): void {
    if (this.isrUpdate || this.failure) return;
    const { shrink, expand } = this.bookkeeping.isrChanges(this.options.clock(), this.options.excluded?.());
    if (shrink.length === 0 && expand.length === 0) return;
    const next = this.bookkeeping.isr.filter((id) => !shrink.includes(id)).concat(expand).sort();
    this.isrUpdate = this.options
      .updateIsr(next)
      .then((ok) => {
        if (!ok) {
          this.options.onDeposed('the ISR could not be updated: the epoch is over');
          return;
        }
        if (this.bookkeeping.setIsr(next)) this.onHighWatermark();
      })
      .catch(() => {})
      .finally(() => {
        this.isrUpdate = undefined;
      });
  }

  /**
   * The first half of a graceful handoff: refuses new writes (NotLeader, which clients retry at
   * the next leader) and waits until every record is committed, so the writes in flight are
   * answered and every in-sync follower holds the whole log. False if that took over `timeoutMs`.
   */
  async drainForHandoff(timeoutMs: number): Promise<boolean> {
    this.handingOff = true;
    this.schedulePersist(); // committed state that waits is written now
    const deadline = this.options.clock() + timeoutMs;
    while (this.options.clock() < deadline && !this.failure) {
      if (this.bookkeeping.highWatermark >= this.log.logEnd && this.log.appliedEnd >= this.log.logEnd) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  }

  /** Ends this leadership: every waiting client gets a retryable error. */
  fail(error: ConveyorError): void {
    if (this.failure) return;
    this.failure = error;
    clearTimeout(this.stateTimer);
    clearInterval(this.timer);
    clearInterval(this.trimTimer);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
    this.wakeFetchers();
  }

  /** Waits for a write in progress to finish (so the caller can reload state from disk). */
  async quiesce(): Promise<void> {
    for (let i = 0; i < 1000 && this.persisting; i++) await new Promise((r) => setTimeout(r, 5));
  }
}
