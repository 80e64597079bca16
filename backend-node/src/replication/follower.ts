/**
 * The follower's side of replication: a loop that fetches records from the current leader,
 * persists them (with the state of the records that the leader says are committed, in the same
 * synced batch), and so acknowledges them in its next fetch. It truncates a divergent suffix when
 * the leader says so, and starts over from a snapshot when the leader no longer has the records it
 * needs. Records from an epoch older than the newest one it knows are refused.
 */
import type { QueueStateMachine } from '../queue/state-machine.ts';
import type { StoreMutation } from '../queue/types.ts';
import { WriteSet } from '../storage/write-set.ts';
import { decodeLogEntryForApply, type ReplicationStore } from '../storage/replication-store.ts';
import type { PeerTransport } from './peer-transport.ts';
import type { ReplicaLog } from './replica-log.ts';
import { stateWriteDueAt, type FetchResponse, type LogEntry, type LogItem } from './types.ts';

export interface LeaderTarget {
  id: string;
  url: string;
  epoch: number;
}

export interface FollowerOptions {
  nodeId: string;
  clusterId: string;
  transport: PeerTransport;
  /** The leader to follow now, from ZooKeeper's view; undefined while there is none. */
  target: () => LeaderTarget | undefined;
  /** Resolves when the cluster view changes (or after `ms`). */
  waitForChange: (ms: number) => Promise<void>;
  /** The newest epoch this node knows; raised by what it sees. */
  knownEpoch: () => number;
  onEpochSeen: (epoch: number) => void;
  /** Replaces the node's state machine after a snapshot was installed. */
  reloadState: () => Promise<QueueStateMachine>;
  log: (message: string, extra?: Record<string, unknown>) => void;
  fetchWaitMs: number;
  /** Copies bodies of live messages out of records below `point` before they are trimmed. */
  materializeBodies: (point: number, machine: QueueStateMachine) => Promise<WriteSet>;
}

export class Follower {
  private running = false;
  /** When the leader last answered a fetch with records (ms since the epoch), for operators. */
  lastFetchAt: number | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  /**
   * Records received but not applied yet, decoded once on arrival (sends without their bodies:
   * decodeLogEntryForApply). They are applied when the leader's high watermark passes them,
   * usually at the next fetch, and dropped from here then.
   */
  private readonly pendingApply = new Map<number, LogEntry>();
  /**
   * Where the in-memory machine has applied the log to; the checkpoint on disk (the replica log's
   * appliedEnd) may be behind it while the state of those records waits in `unwritten`.
   */
  private machineEnd: number;
  /** State changes applied in memory and not yet on disk, folded (the last write to a key wins). */
  private unwritten: WriteSet | undefined;
  private unwrittenSince = 0;
  private abort = new AbortController();

  constructor(
    private readonly replicaLog: ReplicaLog,
    private machine: QueueStateMachine,
    private readonly store: ReplicationStore,
    private readonly options: FollowerOptions,
  ) {
    this.machineEnd = replicaLog.appliedEnd;
  }

  get stateMachine(): QueueStateMachine {
    return this.machine;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loopDone = this.loop();
  }

  /**
   * Stops fetching and waits for the loop (and any write it started) to finish; then writes the
   * state still waiting, so the machine handed on matches the disk (or, if that write fails,
   * reloads the machine from the disk).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loopDone;
    if (this.machineEnd === this.replicaLog.appliedEnd) return;
    try {
      await this.writeState();
    } catch (error) {
      this.options.log('could not write the applied state on stopping; reloading it from disk', { error: (error as Error).message });
      await this.reloadFromDisk();
    }
  }

  /** Drops what was applied in memory only and reloads the machine from disk. */
  private async reloadFromDisk(): Promise<void> {
    this.unwritten = undefined;
    this.machine = await this.options.reloadState();
    this.machineEnd = this.replicaLog.appliedEnd;
  }

  /** Writes the state waiting (all of it) with the checkpoint at the machine's end. */
  private async writeState(): Promise<void> {
    const end = this.machineEnd;
    await this.store.write({ state: this.unwritten ? [this.unwritten] : [], checkpoint: this.replicaLog.checkpoint(end) });
    this.unwritten = undefined;
    this.replicaLog.appliedEnd = end;
  }

  private async loop(): Promise<void> {
    let backoffMs = 20;
    // Bounded by `running`: each pass waits on a fetch (with a timeout) or on a cluster change.
    while (this.running) {
      const target = this.options.target();
      if (!target || target.id === this.options.nodeId) {
        await this.options.waitForChange(1000);
        continue;
      }
      try {
        const response = await this.options.transport.fetch(
          target.url,
          {
            clusterId: this.options.clusterId,
            followerId: this.options.nodeId,
            epoch: Math.max(this.options.knownEpoch(), target.epoch),
            fetchOffset: this.replicaLog.logEnd,
            lastFetchedEpoch: this.replicaLog.lastEpoch(),
            appliedEnd: this.replicaLog.appliedEnd,
            maxWaitMs: this.options.fetchWaitMs,
          },
          this.options.fetchWaitMs + 5_000,
          this.abort.signal,
        );
        if (!this.running) break;
        await this.handle(response);
        if (response.kind === 'records') this.lastFetchAt = Date.now();
        backoffMs = 20;
      } catch (error) {
        if (!this.running) break;
        this.options.log('fetch failed', { leader: target.id, error: (error as Error).message });
        await this.options.waitForChange(backoffMs);
        backoffMs = Math.min(1_000, backoffMs * 2);
      }
    }
  }

  private async handle(response: FetchResponse): Promise<void> {
    if (response.epoch < this.options.knownEpoch()) {
      // A deposed leader answered: ignore it and wait for the view to catch up.
      await this.options.waitForChange(200);
      return;
    }
    this.options.onEpochSeen(response.epoch);
    switch (response.kind) {
      case 'records': {
        const entries = response.entries.map((raw) => {
          const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
          return { entry: decodeLogEntryForApply(bytes), bytes };
        });
        await this.persistAndApply(entries, response.highWatermark);
        // The leader trims what every replica has applied; follow it, never past what is applied here.
        if (response.logStart > this.replicaLog.logStart) {
          const point = Math.min(response.logStart, this.replicaLog.appliedEnd);
          await this.replicaLog.trimBefore(point, await this.options.materializeBodies(point, this.machine));
        }
        return;
      }
      case 'diverging': {
        const own = this.replicaLog.epochs.endOffsetFor(response.divergingEpoch, this.replicaLog.logEnd);
        const to = Math.min(response.endOffset, own.endOffset, this.replicaLog.logEnd);
        if (to < this.replicaLog.appliedEnd) {
          this.options.log('log diverges below the applied state; starting over from a snapshot', { to, appliedEnd: this.replicaLog.appliedEnd });
          await this.installSnapshot();
          return;
        }
        // Never expected (applied records are committed), but a machine must not keep records that go.
        if (to < this.machineEnd) await this.reloadFromDisk();
        this.options.log('truncating a divergent suffix', { from: to, logEnd: this.replicaLog.logEnd, epoch: response.divergingEpoch });
        this.pendingApply.clear();
        await this.replicaLog.truncateTo(to);
        return;
      }
      case 'snapshotRequired':
        await this.installSnapshot();
        return;
    }
  }

  private async persistAndApply(received: ReadonlyArray<{ entry: LogEntry; bytes: Buffer }>, highWatermark: number): Promise<void> {
    if (received.length > 0 && received[0]!.entry.offset !== this.replicaLog.logEnd) throw new Error(`leader sent offset ${received[0]!.entry.offset}, expected ${this.replicaLog.logEnd}`);
    const leaderEpoch = this.options.knownEpoch();
    for (const { entry: e } of received) if (e.epoch > leaderEpoch) throw new Error(`record ${e.offset} is from epoch ${e.epoch}, newer than the leader's ${leaderEpoch}`);
    const entries: LogItem[] = received.map(({ entry, bytes }) => ({ offset: entry.offset, epoch: entry.epoch, bytes }));
    this.replicaLog.appendFromLeader(entries);
    // Bounded: should the high watermark stall, past 20,000 records they are let go (and decoded again when applied).
    if (this.pendingApply.size > 20_000) this.pendingApply.clear();
    for (const { entry } of received) this.pendingApply.set(entry.offset, entry);
    // Apply what the leader says is committed and this node has (or is about to have) on disk.
    const applyEnd = Math.min(highWatermark, this.replicaLog.logEnd);
    // The new records go to disk at once, and the committed ones are applied while that synced
    // write is under way (CPU beside the disk's wait): the next fetch, which acknowledges the
    // records, leaves after the longer of the two rather than after both.
    const writing = this.writeRecords(entries, applyEnd <= this.machineEnd);
    try {
      await this.applyUpTo(applyEnd);
    } finally {
      await writing;
    }
  }

  /**
   * Writes `entries` (synced), with the state that waits when it is due (stateWriteDueAt: after
   * 200 ms or 2 s, by its size), or when a fetch came back with nothing new (`idle`). Records alone leave
   * the checkpoint's applied end where it is.
   */
  private writeRecords(entries: LogItem[], nothingToApply: boolean): Promise<void> {
    const set = this.unwritten;
    const since = this.unwrittenSince;
    const idle = entries.length === 0 && nothingToApply;
    const due = set !== undefined && (idle || Date.now() >= stateWriteDueAt(since, set.size));
    if (entries.length === 0 && !due) return Promise.resolve();
    const end = due ? this.machineEnd : this.replicaLog.appliedEnd;
    const logEnd = this.replicaLog.logEnd;
    // Taken now: what is applied from here on folds into a set of its own, written later.
    if (due) this.unwritten = undefined;
    // The batch (and each meta's bytes) is made before write() first waits, so later applies cannot change it.
    return this.store.write({ entries, state: due ? [set] : [], checkpoint: this.replicaLog.checkpoint(end) }).then(
      () => {
        if (entries.length > 0) this.replicaLog.persistedEnd = Math.max(this.replicaLog.persistedEnd, logEnd);
        this.replicaLog.appliedEnd = end;
      },
      (error: unknown) => {
        // Not on disk: the state waits again, ahead of what was folded since.
        if (due) {
          if (this.unwritten) set.foldSet(this.unwritten);
          this.unwritten = set;
          this.unwrittenSince = since;
        }
        throw error;
      },
    );
  }

  /** Applies the log to `applyEnd`, folding the state changes into the set that waits. */
  private async applyUpTo(applyEnd: number): Promise<void> {
    // The state changes of the records applied here are folded into one write set, and kept
    // folding across fetches until it is due (as the leader does): a message sent, received and
    // deleted within that time costs nothing (its meta's put is a NewKeyPut), not four writes.
    const mutations: StoreMutation[] = [];
    let appliedEnd = this.machineEnd;
    while (appliedEnd < applyEnd) {
      const batch = await this.replicaLog.read(appliedEnd, 5_000, applyEnd);
      if (batch.length === 0) throw new Error(`records ${appliedEnd}..${applyEnd} are missing from the log`);
      for (const item of batch) {
        const entry = this.pendingApply.get(item.offset) ?? decodeLogEntryForApply(item.bytes);
        this.pendingApply.delete(item.offset);
        if (entry.payload.type !== 'epochStart') for (const m of this.machine.apply(entry.payload, entry.offset)) mutations.push(m);
        appliedEnd = entry.offset + 1;
      }
    }
    this.machineEnd = appliedEnd;
    if (mutations.length > 0) {
      if (!this.unwritten) {
        this.unwritten = new WriteSet();
        this.unwrittenSince = Date.now();
      }
      // The set is written at the state the machine has then, which is the state it was folded to:
      // the live metas are what it writes, so they are not copied.
      this.unwritten.foldMutations(mutations, false);
    }
  }

  private async installSnapshot(): Promise<void> {
    const target = this.options.target();
    if (!target) return;
    this.options.log('installing a snapshot from the leader', { leader: target.id });
    const { header, pairs } = await this.options.transport.snapshot(target.url, 60_000);
    await this.store.importSnapshot(header, pairs);
    this.pendingApply.clear();
    this.unwritten = undefined;
    this.replicaLog.resetTo(header.appliedEnd, header.epochs);
    this.machine = await this.options.reloadState();
    this.machineEnd = this.replicaLog.appliedEnd;
    this.options.log('snapshot installed', { appliedEnd: header.appliedEnd });
  }
}
