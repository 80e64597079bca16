/**
 * Retry policy: which failures a retry can help, and exponential backoff with full jitter
 * (a uniformly random wait between 0 and min(cap, base·2^attempt)), bounded by a total deadline.
 */
import { ConveyorError } from '../wire/index.ts';

/** How calls are retried. Every field has a default in `DEFAULT_RETRY`. */
export interface RetryOptions {
  /** Attempts per call, the first included (1 disables retries). */
  maxAttempts: number;
  /** The backoff's base: the first retry waits up to this long. */
  baseDelayMs: number;
  /** The longest single wait between attempts. */
  maxDelayMs: number;
  /** The whole call, every attempt and wait included, ends by this deadline. */
  totalDeadlineMs: number;
}

/** Retry defaults: enough to ride out a leader election (a few seconds) or a frontend restart. */
export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  maxAttempts: 12,
  baseDelayMs: 25,
  maxDelayMs: 1_000,
  totalDeadlineMs: 20_000,
});

/** Full-jitter backoff before retry number `attempt` (0 for the first retry); `random` is in [0, 1). */
export function backoffDelayMs(attempt: number, options: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** Whether a retry could help: retryable codes (throttling, 5xx, NotLeader, timeouts) and transport failures. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof ConveyorError) return error.retryable && error.code !== 'CircuitOpen';
  return false;
}

/**
 * The wait before the next attempt, or undefined when the call must give up: out of attempts, or the
 * wait would end past the deadline. Pure, so the retry loop is tested without time passing.
 */
export function nextRetryDelayMs(attempt: number, nowMs: number, deadlineMs: number, options: RetryOptions, random: () => number): number | undefined {
  if (attempt + 1 >= options.maxAttempts) return undefined;
  const delay = backoffDelayMs(attempt, options, random);
  return nowMs + delay >= deadlineMs ? undefined : delay;
}
