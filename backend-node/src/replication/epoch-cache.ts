/**
 * Leader epochs and the offsets where they start, as Kafka keeps them (KIP-101): the basis for
 * finding where a follower's log diverges from its leader's after a leader change.
 */
export interface EpochStart {
  epoch: number;
  startOffset: number;
}

export class EpochCache {
  private list: EpochStart[];

  constructor(entries: readonly EpochStart[] = []) {
    this.list = entries.map((e) => ({ ...e })).sort((a, b) => a.epoch - b.epoch);
  }

  get entries(): EpochStart[] {
    return this.list.map((e) => ({ ...e }));
  }

  latestEpoch(): number {
    return this.list.at(-1)?.epoch ?? -1;
  }

  /** Records that `epoch` starts at `startOffset`; epochs only grow. */
  assign(epoch: number, startOffset: number): void {
    const last = this.list.at(-1);
    if (last && last.epoch === epoch) return;
    if (last && (last.epoch > epoch || last.startOffset > startOffset)) {
      throw new Error(`epoch ${epoch}@${startOffset} cannot follow epoch ${last.epoch}@${last.startOffset}`);
    }
    this.list.push({ epoch, startOffset });
  }

  /** Epoch of the record at `offset`, or -1 if no epoch covers it. */
  epochAt(offset: number): number {
    let epoch = -1;
    for (const e of this.list) {
      if (e.startOffset > offset) break;
      epoch = e.epoch;
    }
    return epoch;
  }

  /**
   * For a follower whose last record has epoch `epoch`: the largest epoch this log knows that is
   * not newer, and the offset where that epoch ends in this log (exclusive).
   */
  endOffsetFor(epoch: number, logEnd: number): { epoch: number; endOffset: number } {
    let index = -1;
    for (let i = 0; i < this.list.length; i++) if (this.list[i]!.epoch <= epoch) index = i;
    if (index < 0) return { epoch: -1, endOffset: 0 };
    const next = this.list[index + 1];
    return { epoch: this.list[index]!.epoch, endOffset: next ? next.startOffset : logEnd };
  }

  /** Forgets epochs that start at or after `logEnd` (the log was truncated there). */
  truncateTo(logEnd: number): void {
    this.list = this.list.filter((e) => e.startOffset < logEnd);
  }
}

/**
 * The leader's answer to a follower's position: undefined when the follower's log agrees with
 * the leader's up to fetchOffset, else the epoch and offset to truncate to.
 */
export function divergence(leader: EpochCache, leaderLogEnd: number, fetchOffset: number, lastFetchedEpoch: number): { epoch: number; endOffset: number } | undefined {
  if (fetchOffset === 0) return undefined;
  const { epoch, endOffset } = leader.endOffsetFor(lastFetchedEpoch, leaderLogEnd);
  if (epoch === lastFetchedEpoch && endOffset >= fetchOffset) return undefined;
  return { epoch, endOffset: Math.min(endOffset, fetchOffset) };
}
