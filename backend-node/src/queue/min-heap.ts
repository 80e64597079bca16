/** A binary min-heap of (at, seq) pairs, ordered by `at` then `seq`. Stale entries are the caller's to skip. */
export class MinHeap {
  private readonly at: number[] = [];
  private readonly seq: number[] = [];

  get size(): number {
    return this.at.length;
  }

  push(at: number, seq: number): void {
    this.at.push(at);
    this.seq.push(seq);
    this.up(this.at.length - 1);
  }

  peekAt(): number | undefined {
    return this.at[0];
  }

  /** Removes the smallest entry and returns its seq; call only when size > 0. */
  pop(): number {
    const top = this.seq[0]!;
    const lastAt = this.at.pop()!;
    const lastSeq = this.seq.pop()!;
    if (this.at.length > 0) {
      this.at[0] = lastAt;
      this.seq[0] = lastSeq;
      this.down(0);
    }
    return top;
  }

  clear(): void {
    this.at.length = 0;
    this.seq.length = 0;
  }

  private less(i: number, j: number): boolean {
    const a = this.at[i]!;
    const b = this.at[j]!;
    return a < b || (a === b && this.seq[i]! < this.seq[j]!);
  }

  private swap(i: number, j: number): void {
    const at = this.at[i]!;
    this.at[i] = this.at[j]!;
    this.at[j] = at;
    const seq = this.seq[i]!;
    this.seq[i] = this.seq[j]!;
    this.seq[j] = seq;
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.at.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
