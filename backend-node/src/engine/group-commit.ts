/**
 * Group commit: mutations that arrive while a write is in flight wait and go together into the
 * next write, one synced batch for all of them. `commit` resolves once the caller's batch is
 * durable; `barrier` resolves once everything committed so far is durable (reads wait on it so
 * they never answer with state that could still be lost). After a failed write nothing more is
 * accepted: memory is ahead of the disk, and acknowledging anything further could lie.
 */
import { ConveyorError } from '@conveyor/client-sdk/wire';
import type { StoreMutation } from '../queue/types.ts';

interface Batch {
  mutations: StoreMutation[];
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed by callers; avoid unhandled rejections when nobody waits
  return { mutations: [], promise, resolve, reject };
}

export interface GroupCommitStats {
  writes: number;
  mutations: number;
}

export class GroupCommitter {
  private open: Batch | undefined;
  private inflight: Batch | undefined;
  private failure: Error | undefined;
  readonly stats: GroupCommitStats = { writes: 0, mutations: 0 };

  constructor(private readonly write: (mutations: readonly StoreMutation[]) => Promise<void>) {}

  get failed(): Error | undefined {
    return this.failure;
  }

  /** Throws if a write has failed; call before deciding anything new. */
  assertHealthy(): void {
    if (this.failure) {
      throw new ConveyorError('ServiceUnavailable', `Storage failed; this node no longer acknowledges writes: ${this.failure.message}`, {}, { cause: this.failure });
    }
  }

  commit(mutations: readonly StoreMutation[]): Promise<void> {
    this.assertHealthy();
    if (!this.open) {
      this.open = newBatch();
      // Wait one turn of the event loop so requests arriving together share the first write too.
      if (!this.inflight) setImmediate(() => void this.drain());
    }
    for (const m of mutations) this.open.mutations.push(m);
    return this.open.promise;
  }

  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return (this.open ?? this.inflight)?.promise ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.open && !this.inflight) {
      const batch = this.open;
      this.open = undefined;
      this.inflight = batch;
      try {
        await this.write(batch.mutations);
        this.stats.writes += 1;
        this.stats.mutations += batch.mutations.length;
        batch.resolve();
      } catch (error) {
        this.failure = error instanceof Error ? error : new Error(String(error));
        const unavailable = new ConveyorError('ServiceUnavailable', `Storage write failed: ${this.failure.message}`, {}, { cause: error });
        batch.reject(unavailable);
        const waiting = this.open as Batch | undefined; // requests that queued during the failed write
        waiting?.reject(unavailable);
        this.open = undefined;
      } finally {
        this.inflight = undefined;
      }
    }
  }
}
