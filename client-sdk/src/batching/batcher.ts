/**
 * Gathers single requests into batches: a batch is cut when it reaches `maxEntries` or `maxBytes`,
 * or when the first entry has waited `lingerMs` (`idleLingerMs` when no batch is in flight). Up to `maxInFlight` batches are executed at once;
 * while all those slots are busy an expired linger does not cut, so the open batch keeps growing
 * and load turns into larger batches rather than a queue of small ones. Each caller's promise
 * settles with its own entry's outcome. Pure apart from the injected timers and executor.
 */
import { ConveyorError } from '../wire/index.ts';
import type { TimerHandle, Timers } from '../timers.ts';

/** How one batcher gathers and pipelines. */
export interface BatcherOptions {
  /** Entries per batch at most. */
  maxEntries: number;
  /** Bytes per batch at most (as counted by the caller of `add`); a larger single entry goes alone. */
  maxBytes: number;
  /** How long the first entry of a batch may wait for company while other batches are in flight. */
  lingerMs: number;
  /**
   * The same wait while nothing is in flight. 0 (the default) sends at the end of the current tick:
   * a lone message does not wait, and a burst of sends made in one tick still shares a batch.
   */
  idleLingerMs?: number;
  /** Batches executing at once. */
  maxInFlight: number;
}

/** One entry's outcome, in the order the entries were given to the executor. */
export type EntryOutcome<O> = { ok: true; value: O } | { ok: false; error: Error };

/** Executes one batch; answers one outcome per entry (rejecting fails every entry of the batch). */
export type BatchExecutor<I, O> = (entries: readonly I[]) => Promise<ReadonlyArray<EntryOutcome<O>>>;

interface Waiter<O> {
  resolve(value: O): void;
  reject(error: Error): void;
}

interface Batch<I, O> {
  entries: I[];
  waiters: Waiter<O>[];
  settled: Promise<void>;
  markSettled(): void;
}

/** Batches entries of type I whose outcomes are of type O (see the file's comment). */
export class Batcher<I, O> {
  #open: Batch<I, O> | undefined;
  #openBytes = 0;
  #timer: TimerHandle | undefined;
  #lingerExpired = false;
  readonly #ready: Batch<I, O>[] = [];
  readonly #unsettled = new Set<Promise<void>>();
  #inFlight = 0;
  #pending = 0;
  #closed = false;

  constructor(
    private readonly options: BatcherOptions,
    private readonly execute: BatchExecutor<I, O>,
    private readonly timers: Timers,
  ) {}

  /** Entries added and not yet answered. */
  get pending(): number {
    return this.#pending;
  }

  /** Batches executing now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Adds one entry counting `bytes` toward the batch size; settles with that entry's outcome. */
  add(entry: I, bytes: number): Promise<O> {
    if (this.#closed) return Promise.reject(new ConveyorError('ClientClosed', 'The client is closed.'));
    if (this.#open && this.#openBytes + bytes > this.options.maxBytes) this.#cut();
    const batch = (this.#open ??= this.#newBatch());
    const result = new Promise<O>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    batch.entries.push(entry);
    this.#openBytes += bytes;
    this.#pending += 1;
    if (batch.entries.length >= this.options.maxEntries || this.#openBytes >= this.options.maxBytes) this.#cut();
    else if (batch.entries.length === 1) {
      const linger = this.#inFlight === 0 ? (this.options.idleLingerMs ?? 0) : this.options.lingerMs;
      this.#timer = this.timers.setTimeout(() => this.#lingerDone(), linger);
    }
    return result;
  }

  /** Sends what is gathered now and resolves when every batch cut so far has been answered. */
  async flush(): Promise<void> {
    if (this.#open) this.#cut();
    await Promise.all([...this.#unsettled]);
  }

  /** Refuses new entries, then flushes. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #newBatch(): Batch<I, O> {
    let markSettled = (): void => undefined;
    const settled = new Promise<void>((resolve) => (markSettled = resolve));
    return { entries: [], waiters: [], settled, markSettled };
  }

  #lingerDone(): void {
    this.#timer = undefined;
    // With every slot busy the batch keeps growing; the next free slot takes it.
    if (this.#inFlight >= this.options.maxInFlight) this.#lingerExpired = true;
    else this.#cut();
  }

  #cut(): void {
    const batch = this.#open;
    if (!batch) return;
    if (this.#timer !== undefined) this.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#lingerExpired = false;
    this.#open = undefined;
    this.#openBytes = 0;
    this.#unsettled.add(batch.settled);
    this.#ready.push(batch);
    this.#pump();
  }

  #pump(): void {
    if (this.#ready.length === 0 && this.#lingerExpired && this.#inFlight < this.options.maxInFlight) {
      this.#cut();
      return;
    }
    while (this.#inFlight < this.options.maxInFlight && this.#ready.length > 0) this.#start(this.#ready.shift()!);
  }

  #start(batch: Batch<I, O>): void {
    this.#inFlight += 1;
    const finish = (): void => {
      this.#pending -= batch.entries.length;
      this.#inFlight -= 1;
      this.#unsettled.delete(batch.settled);
      batch.markSettled();
      this.#pump();
    };
    let running: Promise<ReadonlyArray<EntryOutcome<O>>>;
    try {
      running = this.execute(batch.entries);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (outcomes) => {
        batch.waiters.forEach((waiter, i) => {
          const outcome = outcomes[i];
          if (!outcome) waiter.reject(new ConveyorError('InternalFailure', 'The batch answer has no outcome for this entry.'));
          else if (outcome.ok) waiter.resolve(outcome.value);
          else waiter.reject(outcome.error);
        });
        finish();
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new ConveyorError('InternalFailure', String(error));
        for (const waiter of batch.waiters) waiter.reject(failure);
        finish();
      },
    );
  }
}
