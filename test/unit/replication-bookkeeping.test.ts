// The leader's bookkeeping of its followers, driven by hand with an explicit `now`: the high
// watermark, ISR shrink and expand (Kafka's lastCaughtUpTime rule), write admission and trimming.
import t from 'tap';
import fc from 'fast-check';
import { LeaderBookkeeping } from '@conveyor/backend-node';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

const LAG_MS = 1_000;
const T0 = 1_700_000_000_000;

function bookkeeping(isr: string[], options: { minInSync?: number; logEnd?: number; persistedEnd?: number; highWatermark?: number; appliedEnd?: number } = {}): LeaderBookkeeping {
  const { minInSync = 2, logEnd = 0, persistedEnd = logEnd, highWatermark = 0, appliedEnd = highWatermark } = options;
  return new LeaderBookkeeping('n1', isr, { replicaLagMs: LAG_MS, minInSync }, { logEnd, persistedEnd, highWatermark, appliedEnd }, T0);
}

t.test('high watermark', async (t) => {
  t.test('is the smallest end persisted by the ISR, the leader included', async (t) => {
    const b = bookkeeping(['n1', 'f1', 'f2']);
    b.onAppend(10);
    t.equal(b.onFetch('f1', 10, 0, T0), false, 'one follower is not enough');
    t.equal(b.highWatermark, 0);
    t.equal(b.onFetch('f2', 7, 0, T0), false, 'the leader has persisted nothing yet');
    t.equal(b.highWatermark, 0);
    t.equal(b.onPersisted(10), true);
    t.equal(b.highWatermark, 7, 'bounded by f2');
    t.equal(b.onFetch('f2', 10, 0, T0), true);
    t.equal(b.highWatermark, 10);
  });

  t.test('waits for the leader own copy', async (t) => {
    const b = bookkeeping(['n1', 'f1']);
    b.onAppend(10);
    b.onPersisted(4);
    b.onFetch('f1', 10, 0, T0);
    t.equal(b.highWatermark, 4, 'followers have 10, the leader only 4');
    b.onPersisted(3);
    t.equal(b.persistedEnd, 4, 'persistedEnd does not go back');
    b.onPersisted(10);
    t.equal(b.highWatermark, 10);
  });

  t.test('never decreases', async (t) => {
    const b = bookkeeping(['n1', 'f1', 'f2'], { logEnd: 10, persistedEnd: 10 });
    b.onFetch('f1', 10, 0, T0);
    b.onFetch('f2', 10, 0, T0);
    t.equal(b.highWatermark, 10);
    t.equal(b.onFetch('f1', 6, 0, T0 + 1), false, 'a follower reporting less');
    t.equal(b.highWatermark, 10);
    t.equal(b.setIsr(['n1', 'f1', 'f2', 'f3']), false, 'a member that has reported nothing joins');
    t.equal(b.highWatermark, 10);
    b.onAppend(20);
    b.onPersisted(20);
    b.onFetch('f1', 20, 0, T0 + 2);
    b.onFetch('f2', 20, 0, T0 + 2);
    t.equal(b.highWatermark, 10, 'f3 holds it until it reports');
    t.equal(b.onFetch('f3', 15, 0, T0 + 3), true);
    t.equal(b.highWatermark, 15);
  });

  t.test('a follower outside the ISR does not hold it back', async (t) => {
    const b = bookkeeping(['n1', 'f1'], { logEnd: 10, persistedEnd: 10 });
    b.onFetch('f2', 0, 0, T0);
    b.onFetch('f1', 10, 0, T0);
    t.equal(b.highWatermark, 10);
    t.same(b.progress().f2, { ackedEnd: 0, appliedEnd: 0, lag: 10, inSync: false });
  });

  t.test('a lone leader commits on its own persistence', async (t) => {
    const b = bookkeeping(['n1'], { minInSync: 1 });
    b.onAppend(3);
    t.equal(b.highWatermark, 0);
    t.equal(b.onPersisted(3), true);
    t.equal(b.highWatermark, 3);
  });

  t.test('setIsr changes who counts, and the leader always does', async (t) => {
    const b = bookkeeping(['n1', 'f1', 'f2'], { logEnd: 10, persistedEnd: 10 });
    b.onFetch('f1', 10, 0, T0);
    b.onFetch('f2', 3, 0, T0);
    t.equal(b.highWatermark, 3);
    t.equal(b.setIsr(['f1']), true, 'dropping f2 lets the HW move');
    t.same(b.isr, ['f1', 'n1'], 'the leader stays a member');
    t.equal(b.highWatermark, 10);
    b.onAppend(12);
    t.equal(b.onPersisted(12), false, 'f1 has not got 10..12');
    t.equal(b.onFetch('f1', 12, 0, T0 + 1), true);
    t.equal(b.highWatermark, 12);
  });

  t.test('property: a naive model of the HW agrees', async (t) => {
    const followers = ['f1', 'f2', 'f3'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('persist' as const), n: fc.integer({ min: 0, max: 5 }) }),
      fc.record({ kind: fc.constant('fetch' as const), who: fc.constantFrom(...followers), back: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ kind: fc.constant('isr' as const), members: fc.subarray(followers) }),
    );
    fc.assert(
      fc.property(fc.subarray(followers), fc.array(op, { maxLength: 40 }), (initialIsr, ops) => {
        const b = bookkeeping(['n1', ...initialIsr]);
        let logEnd = 0;
        let persisted = 0;
        let hw = 0;
        let isr = new Set(initialIsr);
        const acked = new Map<string, number>();
        const advance = (): boolean => {
          const candidate = Math.min(persisted, ...[...isr].map((id) => acked.get(id) ?? 0));
          if (candidate <= hw) return false;
          hw = candidate;
          return true;
        };
        for (const o of ops) {
          let moved: boolean | undefined;
          if (o.kind === 'append') b.onAppend((logEnd += o.n));
          else if (o.kind === 'persist') {
            persisted = Math.max(persisted, Math.min(logEnd, persisted + o.n));
            moved = b.onPersisted(persisted);
          } else if (o.kind === 'fetch') {
            const offset = Math.max(0, logEnd - o.back);
            acked.set(o.who, offset);
            moved = b.onFetch(o.who, offset, 0, T0);
          } else {
            isr = new Set(o.members);
            moved = b.setIsr(o.members);
          }
          const modelMoved = o.kind === 'append' ? undefined : advance();
          if (moved !== modelMoved) throw new Error(`${JSON.stringify(o)}: moved ${moved}, model ${modelMoved}`);
          if (b.highWatermark !== hw) throw new Error(`${JSON.stringify(o)}: HW ${b.highWatermark}, model ${hw}`);
        }
        return true;
      }),
      { seed: SEED, numRuns: 500 },
    );
    t.pass('held for 500 runs');
  });
});

t.test('ISR shrink', async (t) => {
  t.test('a follower that stops fetching is proposed only after replicaLagMs', async (t) => {
    const b = bookkeeping(['n1', 'f1', 'f2'], { logEnd: 5, persistedEnd: 5 });
    b.onFetch('f1', 5, 5, T0 + 100);
    b.onFetch('f2', 5, 5, T0 + 100);
    b.onAppend(8); // f1 fetches on, f2 stops
    b.onFetch('f1', 8, 8, T0 + 600);
    b.onFetch('f1', 8, 8, T0 + 1_050);
    t.same(b.isrChanges(T0 + 1_100), { shrink: [], expand: [] }, 'exactly replicaLagMs since f2 was caught up');
    t.same(b.isrChanges(T0 + 1_101), { shrink: ['f2'], expand: [] }, 'one millisecond more');
    t.same(b.isr, ['f1', 'f2', 'n1'], 'only proposed: the ISR changes when the driver calls setIsr');
  });

  t.test('an ISR member that never fetches after the election gets one lag period', async (t) => {
    const b = bookkeeping(['n1', 'f1'], { logEnd: 4, persistedEnd: 4, highWatermark: 4 });
    t.same(b.isrChanges(T0 + LAG_MS).shrink, []);
    t.same(b.isrChanges(T0 + LAG_MS + 1).shrink, ['f1']);
  });

  t.test('a follower that keeps fetching while records keep arriving is not proposed', async (t) => {
    // Each fetch asks from the leader's log end at the follower's previous fetch (it got
    // everything there was), but records arrive in between, so it is never at the log end.
    const b = bookkeeping(['n1', 'f1', 'f2']);
    let logEnd = 0;
    let f1Seen = 0;
    let f2Offset = 0;
    for (let now = T0; now <= T0 + 10 * LAG_MS; now += 100) {
      b.onAppend((logEnd += 3));
      b.onPersisted(logEnd);
      b.onFetch('f1', f1Seen, f1Seen, now);
      f1Seen = logEnd;
      // f2 fetches just as often but takes only one record each time: it falls behind.
      b.onFetch('f2', f2Offset, f2Offset, now);
      f2Offset = Math.min(logEnd, f2Offset + 1);
      const { shrink } = b.isrChanges(now);
      if (shrink.includes('f1')) t.fail(`f1 proposed for removal at +${now - T0} ms`);
      if (now - T0 <= LAG_MS && shrink.includes('f2')) t.fail(`f2 proposed before replicaLagMs, at +${now - T0} ms`);
    }
    t.ok(b.progress().f1!.lag > 0, 'f1 was never at the log end');
    t.same(b.isrChanges(T0 + 10 * LAG_MS).shrink, ['f2'], 'the follower that fetches often but never catches up is proposed');
  });

  t.test('a follower at the log end is kept while it fetches, and dropped when it falls silent', async (t) => {
    const b = bookkeeping(['n1', 'f1'], { logEnd: 5, persistedEnd: 5 });
    for (let now = T0; now <= T0 + 5 * LAG_MS; now += 500) {
      b.onFetch('f1', 5, 5, now);
      t.same(b.isrChanges(now).shrink, [], `kept at +${now - T0} ms`);
    }
    const last = T0 + 5 * LAG_MS;
    t.same(b.isrChanges(last + LAG_MS).shrink, [], 'silent for exactly replicaLagMs');
    t.same(b.isrChanges(last + LAG_MS + 1).shrink, ['f1'], 'silent for longer');
  });
});

t.test('ISR expand', async (t) => {
  t.test('a follower that catches up to the HW is proposed', async (t) => {
    const b = bookkeeping(['n1', 'f1'], { logEnd: 10, persistedEnd: 10 });
    b.onFetch('f1', 10, 10, T0);
    t.equal(b.highWatermark, 10);
    b.onFetch('f2', 6, 6, T0 + 10);
    t.same(b.isrChanges(T0 + 10), { shrink: [], expand: [] }, 'below the HW');
    b.onFetch('f2', 10, 10, T0 + 20);
    t.same(b.isrChanges(T0 + 20), { shrink: [], expand: ['f2'] }, 'at the HW');
    t.same(b.isrChanges(T0 + 20 + LAG_MS + 1).expand, [], 'not once it has gone silent');
    t.equal(b.setIsr(['f1', 'f2']), false);
    t.same(b.isr, ['f1', 'f2', 'n1']);
    t.same(b.isrChanges(T0 + 30).expand, [], 'a member is not proposed again');
  });

  t.test('a follower below the start of the leader epoch is not proposed, even at a lagging HW', async (t) => {
    // Elected with records 4..10 from earlier epochs in its log; an earlier leader may have
    // acknowledged some of them, but this leader's HW is still 4 (f1, in the ISR, has not fetched).
    const b = bookkeeping(['n1', 'f1'], { logEnd: 10, persistedEnd: 10, highWatermark: 4 });
    b.onAppend(11); // the epoch's first record, at 10
    b.onPersisted(11);
    b.onFetch('f2', 6, 6, T0 + 10);
    t.equal(b.highWatermark, 4);
    t.same(b.isrChanges(T0 + 10).expand, [], 'f2 lacks 6..10, which may be acknowledged: it could be elected without them');
    b.onFetch('f2', 10, 10, T0 + 20);
    t.same(b.isrChanges(T0 + 20).expand, ['f2'], 'it has everything from before this epoch');
  });
});

t.test('canAcceptWrites compares the ISR with minInSync', async (t) => {
  const b = bookkeeping(['n1'], { minInSync: 2 });
  t.equal(b.canAcceptWrites(), false, 'the leader alone');
  b.setIsr(['f1']);
  t.equal(b.canAcceptWrites(), true, 'leader and f1');
  b.setIsr([]);
  t.equal(b.canAcceptWrites(), false, 'f1 removed again');
  t.equal(bookkeeping(['n1'], { minInSync: 1 }).canAcceptWrites(), true, 'minInSync 1');
  t.equal(bookkeeping(['n1', 'f1', 'f2'], { minInSync: 3 }).canAcceptWrites(), true);
  t.equal(bookkeeping(['n1', 'f1'], { minInSync: 3 }).canAcceptWrites(), false);
});

t.test('trimPoint is the smallest applied end over the given replicas', async (t) => {
  const b = bookkeeping(['n1', 'f1', 'f2'], { logEnd: 100, persistedEnd: 100, highWatermark: 0, appliedEnd: 0 });
  b.onFetch('f1', 100, 60, T0);
  b.onFetch('f2', 100, 80, T0);
  t.equal(b.highWatermark, 100);
  t.equal(b.trimPoint(['n1', 'f1', 'f2']), 0, 'the leader has applied nothing yet');
  b.selfAppliedEnd = 90;
  t.equal(b.trimPoint(['n1', 'f1', 'f2']), 60, 'f1 is the furthest behind');
  t.equal(b.trimPoint(['n1', 'f2']), 80, 'only the replicas given count');
  t.equal(b.trimPoint(['n1']), 90, 'the leader alone');
  t.equal(b.trimPoint([]), 90, 'the leader counts even when not named');
  t.equal(b.trimPoint(['n1', 'f2', 'f9']), 0, 'an unknown replica has applied nothing');
  b.selfAppliedEnd = 150;
  t.equal(b.trimPoint(['n1']), 100, 'never past the HW');
});

t.test('a drained follower (excluded) leaves the ISR at once and never rejoins', async (t) => {
  const b = bookkeeping(['n1', 'f1', 'f2']);
  b.onAppend(10);
  b.onFetch('f1', 10, 0, T0);
  b.onFetch('f2', 10, 0, T0);
  t.same(b.isrChanges(T0, new Set(['f2'])), { shrink: ['f2'], expand: [] }, 'caught up, but drained: it goes');
  b.setIsr(['n1', 'f1']);
  b.onFetch('f2', 10, 0, T0 + 10);
  t.same(b.isrChanges(T0 + 10, new Set(['f2'])), { shrink: [], expand: [] }, 'and is not added back while it still fetches');
  t.same(b.isrChanges(T0 + 10), { shrink: [], expand: ['f2'] }, 'only the exclusion keeps it out');
});
