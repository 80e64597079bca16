// Leader epochs (KIP-101): the epoch cache, the leader's divergence answer (OffsetsForLeaderEpoch)
// and the follower's truncation loop built on them, as follower.ts runs it.
import t from 'tap';
import fc from 'fast-check';
import { EpochCache, ReplicaLog, divergence, encodeLogEntry, type LogItem } from '@conveyor/backend-node';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

/** The epoch cache of a log given as the epoch of each record, offsets from 0. */
function cacheOf(log: readonly number[]): EpochCache {
  const cache = new EpochCache();
  log.forEach((epoch, offset) => cache.assign(epoch, offset));
  return cache;
}

/** A log as the epoch of each record, from runs of [epoch, count]. */
const logOf = (...runs: Array<[number, number]>): number[] => runs.flatMap(([epoch, count]) => Array<number>(count).fill(epoch));

/**
 * The follower's side as follower.ts does it: fetch from its log end with the epoch of its last
 * record; on a divergence, truncate to min(leader's end offset, where the follower's own copy of
 * that epoch ends, its log end) and fetch again. Returns the truncated log and the rounds taken.
 */
function reconcile(leader: readonly number[], follower: readonly number[], followerCache = cacheOf(follower)): { log: number[]; cache: EpochCache; rounds: number } {
  const leaderCache = cacheOf(leader);
  let log = [...follower];
  for (let rounds = 0; rounds <= follower.length + 1; rounds++) {
    const diverged = divergence(leaderCache, leader.length, log.length, log.at(-1) ?? -1);
    if (!diverged) return { log, cache: followerCache, rounds };
    const own = followerCache.endOffsetFor(diverged.epoch, log.length);
    const to = Math.min(diverged.endOffset, own.endOffset, log.length);
    if (to >= log.length) throw new Error(`no progress: diverging ${JSON.stringify(diverged)} at log end ${log.length}`);
    log = log.slice(0, to);
    followerCache.truncateTo(to);
  }
  throw new Error(`no agreement after ${follower.length + 2} rounds`);
}

t.test('EpochCache', async (t) => {
  t.test('assign records where each new epoch starts, and epochs only grow', async (t) => {
    const cache = new EpochCache();
    t.equal(cache.latestEpoch(), -1, 'an empty cache knows no epoch');
    cache.assign(1, 0);
    cache.assign(1, 4); // the same epoch again: it started at 0, nothing changes
    cache.assign(3, 5);
    t.same(cache.entries, [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 5 },
    ]);
    t.equal(cache.latestEpoch(), 3);
    t.throws(() => cache.assign(2, 9), /epoch 2@9 cannot follow epoch 3@5/, 'an older epoch is refused');
    t.throws(() => cache.assign(4, 4), /epoch 4@4 cannot follow epoch 3@5/, 'a start before the latest start is refused');
    t.same(cache.entries, [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 5 },
    ], 'refused assignments change nothing');
  });

  t.test('entries are sorted copies', async (t) => {
    const cache = new EpochCache([
      { epoch: 4, startOffset: 7 },
      { epoch: 2, startOffset: 3 },
    ]);
    t.same(cache.entries, [
      { epoch: 2, startOffset: 3 },
      { epoch: 4, startOffset: 7 },
    ]);
    cache.entries[0]!.startOffset = 99;
    t.equal(cache.epochAt(3), 2, 'changing a returned entry does not change the cache');
  });

  t.test('epochAt names the epoch of the record at an offset', async (t) => {
    const cache = new EpochCache([
      { epoch: 2, startOffset: 3 },
      { epoch: 5, startOffset: 6 },
    ]);
    t.equal(cache.epochAt(0), -1, 'before the first epoch');
    t.equal(cache.epochAt(2), -1);
    t.equal(cache.epochAt(3), 2, 'first record of epoch 2');
    t.equal(cache.epochAt(5), 2, 'last record of epoch 2');
    t.equal(cache.epochAt(6), 5, 'first record of epoch 5');
    t.equal(cache.epochAt(1_000), 5, 'the latest epoch runs on');
  });

  t.test('endOffsetFor answers OffsetsForLeaderEpoch', async (t) => {
    // epoch 1: [0, 4), epoch 3: [4, 9), epoch 6: [9, 12)
    const cache = new EpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 4 },
      { epoch: 6, startOffset: 9 },
    ]);
    t.same(cache.endOffsetFor(1, 12), { epoch: 1, endOffset: 4 }, 'a known epoch ends where the next starts');
    t.same(cache.endOffsetFor(3, 12), { epoch: 3, endOffset: 9 });
    t.same(cache.endOffsetFor(6, 12), { epoch: 6, endOffset: 12 }, 'the latest epoch ends at the log end');
    t.same(cache.endOffsetFor(4, 12), { epoch: 3, endOffset: 9 }, 'an unknown epoch: the largest known one not newer');
    t.same(cache.endOffsetFor(5, 12), { epoch: 3, endOffset: 9 });
    t.same(cache.endOffsetFor(9, 12), { epoch: 6, endOffset: 12 }, 'newer than all: the latest epoch');
    t.same(cache.endOffsetFor(0, 12), { epoch: -1, endOffset: 0 }, 'older than all: undefined epoch, offset 0');
    t.same(cache.endOffsetFor(-1, 12), { epoch: -1, endOffset: 0 });
    t.same(new EpochCache().endOffsetFor(3, 0), { epoch: -1, endOffset: 0 }, 'an empty cache');
  });

  t.test('truncateTo forgets epochs that start at or after the new log end', async (t) => {
    const entries = [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 4 },
      { epoch: 6, startOffset: 9 },
    ];
    const a = new EpochCache(entries);
    a.truncateTo(9);
    t.same(a.entries, entries.slice(0, 2), 'an epoch starting exactly at the new end goes');
    t.same(a.endOffsetFor(6, 9), { epoch: 3, endOffset: 9 });
    const b = new EpochCache(entries);
    b.truncateTo(10);
    t.same(b.entries, entries, 'an epoch with a record left stays');
    const c = new EpochCache(entries);
    c.truncateTo(0);
    t.same(c.entries, [], 'truncating to 0 empties it');
    c.assign(7, 0);
    t.same(c.entries, [{ epoch: 7, startOffset: 0 }], 'and it can grow again');
  });

  t.test('property: epochAt and endOffsetFor agree with a naive reading of the log', async (t) => {
    const runs = fc.array(fc.record({ gap: fc.integer({ min: 1, max: 3 }), count: fc.integer({ min: 1, max: 6 }) }), { minLength: 0, maxLength: 6 });
    fc.assert(
      fc.property(runs, fc.integer({ min: -1, max: 25 }), (rs, asked) => {
        let epoch = -1;
        const log = rs.flatMap(({ gap, count }) => Array<number>(count).fill((epoch += gap)));
        const cache = cacheOf(log);
        for (let i = 0; i < log.length; i++) if (cache.epochAt(i) !== log[i]) return false;
        const known = log.filter((e) => e <= asked);
        const expectedEpoch = known.length > 0 ? Math.max(...known) : -1;
        const expectedEnd = expectedEpoch < 0 ? 0 : log.lastIndexOf(expectedEpoch) + 1;
        const got = cache.endOffsetFor(asked, log.length);
        return got.epoch === expectedEpoch && got.endOffset === expectedEnd;
      }),
      { seed: SEED, numRuns: 500 },
    );
    t.pass('held for 500 runs');
  });
});

t.test('divergence', async (t) => {
  // The leader's log: epoch 1 [0, 5), epoch 4 [5, 9), epoch 6 [9, 12).
  const leaderLog = logOf([1, 5], [4, 4], [6, 3]);
  const leader = cacheOf(leaderLog);

  t.test('an empty follower has nothing to truncate', async (t) => {
    t.equal(divergence(leader, 12, 0, -1), undefined);
    t.equal(divergence(new EpochCache(), 0, 0, -1), undefined, 'nor with an empty leader');
  });

  t.test('a follower identical to the leader, or a prefix of it, has nothing to truncate', async (t) => {
    t.equal(divergence(leader, 12, 12, 6), undefined, 'identical');
    t.equal(divergence(leader, 12, 10, 6), undefined, 'inside the latest epoch');
    t.equal(divergence(leader, 12, 9, 4), undefined, 'at the end of an older epoch');
    t.equal(divergence(leader, 12, 5, 1), undefined);
    t.equal(divergence(leader, 12, 3, 1), undefined, 'inside the first epoch');
  });

  t.test('extra uncommitted records of an epoch the leader never had: truncate to where the older epoch ends', async (t) => {
    // The follower took epoch 1 up to 5, then records of epoch 3 (a leader that died before
    // anyone else got them): [1 x5, 3 x3].
    const follower = logOf([1, 5], [3, 3]);
    t.same(divergence(leader, 12, 8, 3), { epoch: 1, endOffset: 5 }, 'epoch 1 is the largest not newer than 3; it ends at 5');
    const { log, rounds } = reconcile(leaderLog, follower);
    t.same(log, logOf([1, 5]), 'the epoch 3 records go, all of epoch 1 stays');
    t.equal(rounds, 1);
  });

  t.test('extra records of an old epoch the leader has fewer of: truncate to where that epoch ends in the leader', async (t) => {
    // The follower took 7 records of epoch 1; the leader has only 5 of them.
    const follower = logOf([1, 7]);
    t.same(divergence(leader, 12, 7, 1), { epoch: 1, endOffset: 5 });
    t.same(reconcile(leaderLog, follower).log, logOf([1, 5]));
  });

  t.test('the answer never points past the follower own log end', async (t) => {
    // Follower: [1 x3, 3 x1]; the leader's epoch 1 ends at 5, past the follower's end at 4.
    t.same(divergence(leader, 12, 4, 3), { epoch: 1, endOffset: 4 });
    // The follower takes the smaller of that and where its own epoch 1 ends (3).
    const { log } = reconcile(leaderLog, logOf([1, 3], [3, 1]));
    t.same(log, logOf([1, 3]));
  });

  t.test('a last epoch older than every epoch the leader knows: truncate everything', async (t) => {
    const newer = cacheOf(logOf([4, 6]));
    t.same(divergence(newer, 6, 3, 2), { epoch: -1, endOffset: 0 });
    t.same(reconcile(logOf([4, 6]), logOf([2, 3])).log, []);
  });

  t.test('a follower ahead of the leader within the same epoch: truncate to the leader log end', async (t) => {
    t.same(divergence(leader, 12, 15, 6), { epoch: 6, endOffset: 12 });
    t.same(reconcile(leaderLog, logOf([1, 5], [4, 4], [6, 6])).log, leaderLog);
  });

  t.test('a follower on a newer epoch than the leader (a stale leader answering): diverges at the leader end', async (t) => {
    t.same(divergence(leader, 12, 14, 8), { epoch: 6, endOffset: 12 });
    t.same(reconcile(leaderLog, logOf([1, 5], [4, 4], [6, 2], [8, 3])).log, logOf([1, 5], [4, 4], [6, 2]));
  });

  t.test('several divergent epochs are undone in turn', async (t) => {
    // Follower: [1 x5, 4 x2, 5 x3, 7 x2]: epochs 5 and 7 never reached this leader.
    const follower = logOf([1, 5], [4, 2], [5, 3], [7, 2]);
    const { log, rounds } = reconcile(leaderLog, follower);
    t.same(log, logOf([1, 5], [4, 2]));
    t.ok(rounds >= 1 && rounds <= 2, `took ${rounds} rounds`);
  });

  t.test('property: the follower ends up exactly the common prefix, a prefix of the leader', async (t) => {
    const scenario = fc.record({
      leaderRuns: fc.array(fc.record({ gap: fc.integer({ min: 1, max: 3 }), count: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 6 }),
      prefixPick: fc.nat(),
      suffixRuns: fc.array(fc.record({ skip: fc.nat({ max: 3 }), count: fc.integer({ min: 1, max: 5 }) }), { minLength: 0, maxLength: 4 }),
    });
    let diverged = 0;
    fc.assert(
      fc.property(scenario, ({ leaderRuns, prefixPick, suffixRuns }) => {
        let epoch = -1;
        const leaderLog = leaderRuns.flatMap(({ gap, count }) => Array<number>(count).fill((epoch += gap)));
        const prefix = prefixPick % (leaderLog.length + 1);
        // Epochs the follower may hold from `prefix` on without agreeing with the leader there:
        // ones the leader never had, and more of the epoch at prefix - 1 when the leader's run of
        // it stops at `prefix` (records of it the leader never got).
        const leaderEpochs = new Set(leaderLog);
        const floor = prefix > 0 ? leaderLog[prefix - 1]! : 0;
        const allowed: number[] = [];
        if (prefix > 0 && leaderLog[prefix] !== leaderLog[prefix - 1]) allowed.push(floor);
        for (let e = floor; e <= epoch + 3; e++) if (!leaderEpochs.has(e)) allowed.push(e);
        const suffix: number[] = [];
        let index = -1;
        for (const { skip, count } of suffixRuns) {
          index += 1 + skip;
          if (index >= allowed.length) break;
          suffix.push(...Array<number>(count).fill(allowed[index]!));
        }
        const follower = [...leaderLog.slice(0, prefix), ...suffix];
        if (suffix.length > 0) diverged++;

        const { log, cache } = reconcile(leaderLog, follower);
        if (log.length !== prefix) throw new Error(`truncated to ${log.length}, common prefix is ${prefix}`);
        for (let i = 0; i < log.length; i++) if (log[i] !== leaderLog[i]) throw new Error(`offset ${i}: epoch ${log[i]}, leader has ${leaderLog[i]}`);
        if (JSON.stringify(cache.entries) !== JSON.stringify(cacheOf(log).entries)) throw new Error('the truncated cache does not describe the truncated log');
        // Catching up from there makes the logs equal, and the leader then sees no divergence.
        const caughtUp = [...log, ...leaderLog.slice(log.length)];
        return divergence(cacheOf(leaderLog), leaderLog.length, caughtUp.length, caughtUp.at(-1) ?? -1) === undefined;
      }),
      { seed: SEED, numRuns: 1_000 },
    );
    t.ok(diverged > 500, `${diverged} of 1000 runs had a divergent suffix`);
  });
});

t.test('ReplicaLog after a snapshot', async (t) => {
  const fakeStore = {
    readLog: async () => [],
    write: async () => {},
    truncateFrom: async () => {},
    trimBefore: async () => {},
  };
  const item = (offset: number, epoch: number): LogItem => {
    const entry = { offset, epoch, payload: { type: 'expire' as const, ts: 1 } };
    return { offset, epoch, bytes: encodeLogEntry(entry) };
  };

  t.test('keeps only the epochs that cover the snapshot, so the leader records that follow are accepted', async (t) => {
    const log = new ReplicaLog(fakeStore as never, { checkpoint: { appliedEnd: 0, logStart: 0, epochs: [] }, logEnd: 0, lastEpoch: -1 });
    // The leader's checkpoint lists its own epoch 2 starting at 8 while its applied state (the
    // snapshot) ends at 5: records 5..7 of epoch 1 are in its log, not yet committed in epoch 2.
    log.resetTo(5, [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 8 },
    ]);
    t.equal(log.lastEpoch(), 1, 'the record before the snapshot end is of epoch 1');
    t.same(divergence(cacheOf(logOf([1, 8], [2, 1])), 9, log.logEnd, log.lastEpoch()), undefined, 'the leader sees no divergence');
    t.doesNotThrow(() => log.appendFromLeader([item(5, 1), item(6, 1), item(7, 1), item(8, 2)]), 'the leader records 5..8 continue this log');
    t.equal(log.logEnd, 9);
    t.same(log.epochs.entries, [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 8 },
    ]);
    t.equal(log.lastEpoch(), 2);
  });

  t.test('a snapshot whose epochs all start before its end keeps them all', async (t) => {
    const log = new ReplicaLog(fakeStore as never, { checkpoint: { appliedEnd: 0, logStart: 0, epochs: [] }, logEnd: 0, lastEpoch: -1 });
    log.resetTo(10, [
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 8 },
    ]);
    t.equal(log.lastEpoch(), 2);
    t.equal(log.logStart, 10);
    t.equal(log.logEnd, 10);
    t.throws(() => log.appendFromLeader([item(10, 1)]), /older than 2/, 'an older epoch after it is still refused');
  });
});
