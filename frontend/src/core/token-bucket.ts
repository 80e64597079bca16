/**
 * Token buckets, pure: a bucket holds up to `burst` tokens and refills at `ratePerSecond`; each
 * request takes one. Time comes from the caller (`nowMs`), so tests run on a fake clock.
 */
export interface TokenBucketConfig {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface TakeResult {
  readonly ok: boolean;
  /** When refused: how long until a token is there (ms, at least 1). */
  readonly retryAfterMs: number;
}

const CAN_TAKE: TakeResult = Object.freeze({ ok: true, retryAfterMs: 0 });

export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(private readonly config: TokenBucketConfig, nowMs: number) {
    if (!(config.ratePerSecond > 0) || !(config.burst >= 1)) throw new RangeError(`a token bucket needs ratePerSecond > 0 and burst >= 1 (got ${config.ratePerSecond}, ${config.burst})`);
    this.tokens = config.burst;
    this.updatedMs = nowMs;
  }

  private refill(nowMs: number): void {
    // A clock that steps back refills nothing (and never drains).
    const elapsed = Math.max(0, nowMs - this.updatedMs);
    this.tokens = Math.min(this.config.burst, this.tokens + (elapsed * this.config.ratePerSecond) / 1000);
    this.updatedMs = Math.max(this.updatedMs, nowMs);
  }

  /** Whether one token could be taken without taking it. */
  peek(nowMs: number): TakeResult {
    this.refill(nowMs);
    if (this.tokens >= 1) return CAN_TAKE;
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.config.ratePerSecond)) };
  }

  take(nowMs: number): TakeResult {
    const result = this.peek(nowMs);
    if (result.ok) this.tokens -= 1;
    return result;
  }

  /** Full again (nothing taken for long enough): such a bucket can be forgotten. */
  isFull(nowMs: number): boolean {
    this.refill(nowMs);
    return this.tokens >= this.config.burst;
  }
}
