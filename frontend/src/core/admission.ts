/**
 * Admission control for load shedding, pure: at most `maxRequests` requests in flight and at most
 * `maxLongPolls` long polls parked. A long poll is admitted as a request first and then moved to
 * the long-poll count, so parked consumers do not crowd out short requests (and vice versa).
 */
export interface AdmissionConfig {
  readonly maxRequests: number;
  readonly maxLongPolls: number;
}

export type Slot = 'request' | 'longPoll';

export class Admission {
  private requests = 0;
  private longPolls = 0;

  constructor(private readonly config: AdmissionConfig) {
    if (!(config.maxRequests >= 1) || !(config.maxLongPolls >= 0)) throw new RangeError(`maxRequests must be >= 1 and maxLongPolls >= 0 (got ${config.maxRequests}, ${config.maxLongPolls})`);
  }

  /** Takes a request slot, or refuses (false) when all are taken. */
  enter(): boolean {
    if (this.requests >= this.config.maxRequests) return false;
    this.requests += 1;
    return true;
  }

  /** Moves an admitted request to a long-poll slot; false (and it stays a request) when all are taken. */
  toLongPoll(): boolean {
    if (this.longPolls >= this.config.maxLongPolls) return false;
    this.requests -= 1;
    this.longPolls += 1;
    return true;
  }

  leave(slot: Slot): void {
    if (slot === 'request') this.requests = Math.max(0, this.requests - 1);
    else this.longPolls = Math.max(0, this.longPolls - 1);
  }

  get counts(): { requests: number; longPolls: number } {
    return { requests: this.requests, longPolls: this.longPolls };
  }
}
