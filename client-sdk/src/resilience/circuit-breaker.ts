/**
 * A circuit breaker per endpoint, as a transition table over an injected clock:
 *   closed    --failureThreshold consecutive failures-->  open
 *   open      --openMs elapsed, one caller allowed-->     half-open (that caller is the probe)
 *   half-open --probe succeeds-->                         closed
 *   half-open --probe fails-->                            open (the wait starts again)
 * While open, `tryAcquire()` refuses at once, so callers fail fast or move to another endpoint.
 */

/** Where a breaker is in its lifecycle. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** How a breaker trips and recovers. Every field has a default in `DEFAULT_BREAKER`. */
export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one probe is let through. */
  openMs: number;
}

/** Breaker defaults: five failures in a row open it for two seconds. */
export const DEFAULT_BREAKER: Readonly<BreakerOptions> = Object.freeze({ failureThreshold: 5, openMs: 2_000 });

/** One endpoint's breaker; `onChange` hears every transition. */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAtMs = 0;
  #probing = false;

  constructor(
    private readonly options: BreakerOptions,
    private readonly now: () => number,
    private readonly onChange: (state: BreakerState) => void = () => undefined,
  ) {}

  /** The state, moving open → half-open once the wait is over. */
  get state(): BreakerState {
    if (this.#state === 'open' && this.now() - this.#openedAtMs >= this.options.openMs) this.#move('half-open');
    return this.#state;
  }

  /** Whether a request may go now. In half-open, only one (the probe) is let through at a time. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** The endpoint answered. */
  recordSuccess(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state !== 'closed') this.#move('closed');
  }

  /** The endpoint did not answer (refused, reset, timed out, failed internally). */
  recordFailure(): void {
    this.#probing = false;
    this.#failures += 1;
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.options.failureThreshold)) {
      this.#openedAtMs = this.now();
      this.#move('open');
    }
  }

  /** When a request let through as the probe ends with neither verdict (aborted by its caller). */
  releaseProbe(): void {
    this.#probing = false;
  }

  #move(state: BreakerState): void {
    this.#state = state;
    this.onChange(state);
  }
}
