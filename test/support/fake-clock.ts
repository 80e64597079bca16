/** A clock tests move by hand; engines take it as their `clock` option. */
export class FakeClock {
  constructor(public nowMs = 1_700_000_000_000) {}
  now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** A seeded PRNG (mulberry32) so tests that need randomness replay exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic message ids shaped like UUIDs. */
export function sequentialIds(prefix = '00000000-0000-4000-8000'): () => string {
  let n = 0;
  return () => `${prefix}-${(n++).toString(16).padStart(12, '0')}`;
}
