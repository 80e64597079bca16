/**
 * Coalesces calls to one queue: while `maxInFlight` calls are out, further requests wait and
 * leave together as one call when a slot frees, up to `maxEntries` entries and about `maxBytes`.
 * At low load nothing waits; under load a leader gets a few large requests instead of many small
 * ones, which makes each message's share of a request and of a replicated record small.
 * How requests merge into one call and how its answer splits back is the caller's `callGroup`;
 * `mergeBatchCalls` does it for batch calls. An error of the whole call reaches every request in it.
 */

/** Per-entry results of a batch call, by entry id. */
export interface BatchOutcome<S extends { id: string }, F extends { id: string }> {
  successful: S[];
  failed: F[];
}

export interface CoalescerOptions {
  /** Calls out at once before requests start waiting to be merged. */
  maxInFlight: number;
  /** Entries (or messages asked for) in one merged call. */
  maxEntries: number;
  /** A merged call takes no further request once it holds this many bytes (one request may exceed it alone). */
  maxBytes: number;
}

/** How much a request adds to a merged call. */
export interface RequestWeight {
  entries: number;
  bytes: number;
}

interface Waiting<R, A> {
  request: R;
  weight: RequestWeight;
  resolve: (answer: A) => void;
  reject: (error: unknown) => void;
}

export class Coalescer<R, A> {
  private readonly waiting: Array<Waiting<R, A>> = [];
  private inFlight = 0;

  /**
   * `callGroup(requests)` makes one call for them all and answers each, in order. `onIdle` runs
   * when nothing is out or waiting.
   */
  constructor(
    private readonly callGroup: (requests: R[]) => Promise<A[]>,
    private readonly options: CoalescerOptions,
    private readonly onIdle: () => void = () => {},
  ) {}

  get idle(): boolean {
    return this.inFlight === 0 && this.waiting.length === 0;
  }

  /** Makes `request` in the next call out. */
  submit(request: R, weight: RequestWeight): Promise<A> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, weight, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    // Bounded: each pass takes at least one waiting request.
    while (this.inFlight < this.options.maxInFlight && this.waiting.length > 0) {
      let count = 1;
      let { entries, bytes } = this.waiting[0]!.weight;
      while (count < this.waiting.length) {
        const next = this.waiting[count]!.weight;
        if (entries + next.entries > this.options.maxEntries || bytes + next.bytes > this.options.maxBytes) break;
        entries += next.entries;
        bytes += next.bytes;
        count++;
      }
      this.dispatch(this.waiting.splice(0, count));
    }
  }

  private dispatch(group: Array<Waiting<R, A>>): void {
    this.inFlight++;
    this.callGroup(group.map((w) => w.request))
      .then((answers) => {
        group.forEach((w, i) => w.resolve(answers[i]!));
      })
      .catch((error: unknown) => {
        for (const w of group) w.reject(error);
      })
      .finally(() => {
        this.inFlight--;
        this.pump();
        if (this.idle) this.onIdle();
      });
  }
}

/**
 * A `callGroup` for batch calls: one batch goes out as it is; several go as one batch, their
 * entries renumbered "0", "1", …, and each gets back its own results under its own ids.
 */
export function mergeBatchCalls<E extends { id: string }, S extends { id: string }, F extends { id: string }>(
  call: (entries: E[]) => Promise<BatchOutcome<S, F>>,
): (batches: Array<readonly E[]>) => Promise<Array<BatchOutcome<S, F>>> {
  return async (batches) => {
    if (batches.length === 1) return [await call([...batches[0]!])];
    const merged: E[] = [];
    // Entry index in the merged call → its batch's outcome and its own id.
    const owners: Array<{ outcome: BatchOutcome<S, F>; id: string }> = [];
    const outcomes = batches.map(() => ({ successful: [] as S[], failed: [] as F[] }));
    batches.forEach((entries, i) => {
      for (const e of entries) {
        owners.push({ outcome: outcomes[i]!, id: e.id });
        merged.push({ ...e, id: String(merged.length) });
      }
    });
    const result = await call(merged);
    for (const s of result.successful) {
      const owner = owners[Number(s.id)];
      if (owner) owner.outcome.successful.push({ ...s, id: owner.id });
    }
    for (const f of result.failed) {
      const owner = owners[Number(f.id)];
      if (owner) owner.outcome.failed.push({ ...f, id: owner.id });
    }
    return outcomes;
  };
}

/**
 * A `callGroup` for receives: one call asks for every request's count together and the messages
 * are handed out in order, each request getting at most what it asked for.
 */
export function mergeReceives<M>(call: (max: number) => Promise<M[]>): (wants: number[]) => Promise<M[][]> {
  return async (wants) => {
    const messages = await call(wants.reduce((a, b) => a + b, 0));
    let next = 0;
    return wants.map((want) => {
      const share = messages.slice(next, next + want);
      next += share.length;
      return share;
    });
  };
}
