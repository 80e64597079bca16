/**
 * A map from a queue's sequence numbers to values, for write sets. The sequence numbers a set
 * holds come in runs (a receive takes the oldest messages in order, a send takes the next ones),
 * so values sit in small arrays of CHUNK consecutive numbers, found through a Map of chunk
 * numbers with the last chunk used kept at hand. Against one Map entry per number that saves the
 * hashing and probing of each write, and the rehashing of a table of thousands of entries as it
 * grows (which, past a few hundred kilobytes, also faults in fresh pages every time).
 */
const CHUNK = 32;

interface Chunk<V> {
  values: Array<V | undefined>;
  live: number;
}

export class SeqMap<V> {
  private readonly chunks = new Map<number, Chunk<V>>();
  private lastNo = -1;
  private last: Chunk<V> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(seq: number): V | undefined {
    return this.chunk(Math.floor(seq / CHUNK), false)?.values[seq % CHUNK];
  }

  set(seq: number, value: V): this {
    const chunk = this.chunk(Math.floor(seq / CHUNK), true)!;
    const i = seq % CHUNK;
    if (chunk.values[i] === undefined) {
      chunk.live += 1;
      this.count += 1;
    }
    chunk.values[i] = value;
    return this;
  }

  delete(seq: number): boolean {
    const no = Math.floor(seq / CHUNK);
    const chunk = this.chunk(no, false);
    const i = seq % CHUNK;
    if (chunk === undefined || chunk.values[i] === undefined) return false;
    chunk.values[i] = undefined;
    chunk.live -= 1;
    this.count -= 1;
    if (chunk.live === 0) {
      this.chunks.delete(no);
      if (this.lastNo === no) this.last = undefined;
    }
    return true;
  }

  /** Calls `visit` with every entry: by chunk in the order chunks were made, ascending within one. */
  forEach(visit: (seq: number, value: V) => void): void {
    for (const [no, chunk] of this.chunks) {
      const base = no * CHUNK;
      for (let i = 0; i < CHUNK; i++) {
        const value = chunk.values[i];
        if (value !== undefined) visit(base + i, value);
      }
    }
  }

  private chunk(no: number, make: boolean): Chunk<V> | undefined {
    if (no === this.lastNo && this.last !== undefined) return this.last;
    let chunk = this.chunks.get(no);
    if (chunk === undefined) {
      if (!make) return undefined;
      chunk = { values: new Array<V | undefined>(CHUNK).fill(undefined), live: 0 };
      this.chunks.set(no, chunk);
    }
    this.lastNo = no;
    this.last = chunk;
    return chunk;
  }
}
