// Where the metadata service puts a new queue (metadata-service/src/core/placement.ts): the
// available cluster with the least load, load = backlog + QUEUE_WEIGHT × queueCount, ties by id.
import t from 'tap';
import fc from 'fast-check';
import { QUEUE_WEIGHT, chooseCluster, type ClusterLoad } from '../../metadata-service/src/core/placement.ts';

const SEED = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 0x7fffffff));
t.comment(`fast-check seed ${SEED} (replay with FC_SEED=${SEED})`);

const cluster = (id: string, queueCount: number, backlog: number, available = true): ClusterLoad => ({ id, available, queueCount, backlog });
const load = (c: ClusterLoad) => c.backlog + QUEUE_WEIGHT * c.queueCount;

/** Every ordering of a short list. */
function permutations<T>(xs: readonly T[]): T[][] {
  if (xs.length <= 1) return [[...xs]];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

t.test('QUEUE_WEIGHT is a positive number of messages', async (t) => {
  t.ok(Number.isFinite(QUEUE_WEIGHT) && QUEUE_WEIGHT > 0);
});

t.test('the least-loaded cluster wins', async (t) => {
  t.equal(chooseCluster([cluster('a', 3, 0), cluster('b', 1, 0), cluster('c', 2, 0)]), 'b', 'fewest queues');
  t.equal(chooseCluster([cluster('a', 0, 500), cluster('b', 0, 20), cluster('c', 0, 900)]), 'b', 'smallest backlog');
  t.equal(chooseCluster([cluster('only', 40, 1_000_000)]), 'only');
});

t.test('a queue weighs QUEUE_WEIGHT messages of backlog', async (t) => {
  // a: one queue, empty. b: no queues, a backlog just under / at / just over one queue's weight.
  t.equal(chooseCluster([cluster('a', 1, 0), cluster('b', 0, QUEUE_WEIGHT - 1)]), 'b');
  t.equal(chooseCluster([cluster('a', 1, 0), cluster('b', 0, QUEUE_WEIGHT + 1)]), 'a');
  t.equal(chooseCluster([cluster('b', 1, 0), cluster('a', 0, QUEUE_WEIGHT + 1)]), 'b', 'not just the smaller id');
  // Backlog and queue count add up: 2 queues + 10 messages vs 1 queue + weight + 11 messages.
  t.equal(chooseCluster([cluster('x', 2, 10), cluster('y', 1, QUEUE_WEIGHT + 11)]), 'x');
  t.equal(chooseCluster([cluster('x', 2, 12), cluster('y', 1, QUEUE_WEIGHT + 11)]), 'y');
  t.equal(chooseCluster([cluster('x', 5, 0), cluster('y', 0, 4 * QUEUE_WEIGHT)]), 'y');
});

t.test('unavailable clusters are skipped, however idle', async (t) => {
  t.equal(chooseCluster([cluster('a', 0, 0, false), cluster('b', 9, 9_999)]), 'b');
  t.equal(chooseCluster([cluster('b', 9, 9_999), cluster('a', 0, 0, false), cluster('c', 10, 9_000)]), 'b');
  t.equal(chooseCluster([cluster('a', 0, 0, false), cluster('b', 0, 0, false), cluster('c', 100, 100)]), 'c');
});

t.test('no available cluster: undefined', async (t) => {
  t.equal(chooseCluster([]), undefined);
  t.equal(chooseCluster([cluster('a', 0, 0, false)]), undefined);
  t.equal(chooseCluster([cluster('a', 0, 0, false), cluster('b', 1, 1, false)]), undefined);
});

t.test('ties go to the smallest id, whatever the input order', async (t) => {
  const tied = [cluster('c', 1, 5), cluster('a', 1, 5), cluster('b', 1, 5), cluster('aa', 2, 0)];
  for (const order of permutations(tied)) {
    t.equal(chooseCluster(order), 'a', order.map((c) => c.id).join(','));
  }
  // The smallest id overall is unavailable or heavier: the next one of the tied, available ones wins.
  const mixed = [cluster('a', 0, 0, false), cluster('d', 1, 0), cluster('b', 1, 0), cluster('c', 0, QUEUE_WEIGHT), cluster('0', 2, 0)];
  for (const order of permutations(mixed)) {
    t.equal(chooseCluster(order), 'b', order.map((c) => c.id).join(','));
  }
});

t.test('the input is not reordered', async (t) => {
  const input = [cluster('z', 0, 0), cluster('a', 1, 0)];
  chooseCluster(input);
  t.same(input.map((c) => c.id), ['z', 'a']);
});

t.test('property: the choice is available, no heavier than any other available cluster, and the smallest id among equals', async (t) => {
  const clusters = fc.uniqueArray(
    fc.record({
      id: fc.string({ unit: fc.constantFrom(...'abc0123-'), minLength: 1, maxLength: 4 }),
      available: fc.boolean(),
      queueCount: fc.nat({ max: 20 }),
      backlog: fc.oneof(fc.nat({ max: 5 }).map((k) => k * QUEUE_WEIGHT), fc.nat({ max: 30_000 })),
    }),
    { selector: (c) => c.id, maxLength: 8 },
  );
  fc.assert(
    fc.property(clusters, (cs) => {
      const chosen = chooseCluster(cs);
      const available = cs.filter((c) => c.available);
      if (available.length === 0) return chosen === undefined;
      const best = available.find((c) => c.id === chosen);
      if (best === undefined) return false;
      for (const other of available) {
        if (load(best) > load(other)) return false;
        if (load(best) === load(other) && other.id < best.id) return false;
      }
      return chooseCluster([...cs].reverse()) === chosen;
    }),
    { seed: SEED, numRuns: 1000 },
  );
  t.pass('placement property held');
});
