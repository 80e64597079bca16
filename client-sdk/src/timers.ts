/**
 * The clock and timers the SDK's logic runs on. Batching, backoff, the circuit breaker and the
 * consumer take a `Timers` so unit tests drive them with a fake clock; the client passes the real one.
 */

/** An opaque handle returned by `setTimeout`. */
export type TimerHandle = unknown;

/** Time and timers, injected so the SDK's logic never reads the real clock directly. */
export interface Timers {
  /** Milliseconds on a monotonic-enough clock (only differences are used). */
  now(): number;
  /** Calls `fn` after `ms` milliseconds (0: at the end of the current tick, after pending I/O callbacks). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer set by `setTimeout` (a no-op if it already ran). */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and Node's timers (setImmediate for 0, which setTimeout would round up to 1 ms). */
export const REAL_TIMERS: Timers = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => (ms <= 0 ? { immediate: setImmediate(fn) } : setTimeout(fn, ms)),
  clearTimeout: (handle: TimerHandle): void => {
    if (typeof handle === 'object' && handle !== null && 'immediate' in handle) clearImmediate(handle.immediate as NodeJS.Immediate);
    else clearTimeout(handle as NodeJS.Timeout);
  },
});

/** Resolves after `ms` on `timers`; rejects with the signal's reason if it aborts first. */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
