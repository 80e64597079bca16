/**
 * A fake clock with timers, for unit tests of the SDK's batching, backoff, breaker and consumer:
 * time moves only through `advance`, which runs due timers in order (and lets promise callbacks
 * settle between them).
 */
import type { TimerHandle, Timers } from '@conveyor/client-sdk';
import { FakeClock } from './fake-clock.ts';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeTimers extends FakeClock implements Timers {
  #timers: FakeTimer[] = [];
  #nextId = 1;

  setTimeout = (fn: () => void, ms: number): TimerHandle => {
    const timer = { id: this.#nextId++, at: this.nowMs + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return timer.id;
  };

  clearTimeout = (handle: TimerHandle): void => {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  };

  /** Timers not yet run. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, running every timer that falls due, earliest first. */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    await settle();
    for (let guard = 0; guard < 100_000; guard++) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.nowMs = Math.max(this.nowMs, due.at);
      due.fn();
      await settle();
    }
    this.nowMs = end;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
