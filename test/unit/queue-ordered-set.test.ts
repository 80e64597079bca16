import t from 'tap';
import fc from 'fast-check';
import { OrderedSet } from '../../backend-node/src/queue/ordered-set.ts';

/** The first `n` members of `set`, oldest first. */
function firstOf(set: OrderedSet<number>, n: number): number[] {
  const out: number[] = [];
  set.forEachOldest((v) => {
    if (out.length >= n) return false;
    out.push(v);
    return true;
  });
  return out;
}

t.test('property: members come out in the order a JS Set keeps them', async (t) => {
  type Op = { kind: 'add'; value: number } | { kind: 'delete'; value: number } | { kind: 'take'; n: number };
  const value = fc.integer({ min: 0, max: 40 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    value.map((v) => ({ kind: 'add' as const, value: v })),
    value.map((v) => ({ kind: 'delete' as const, value: v })),
    fc.integer({ min: 0, max: 50 }).map((n) => ({ kind: 'take' as const, n })),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3_000 }), (ops) => {
      const set = new OrderedSet<number>();
      const model = new Set<number>();
      ops.forEach((o, i) => {
        if (o.kind === 'add') {
          set.add(o.value);
          model.add(o.value);
        } else if (o.kind === 'delete') {
          if (set.delete(o.value) !== model.delete(o.value)) throw new Error(`delete ${o.value} at ${i} disagrees`);
        } else {
          const got = firstOf(set, o.n).join(',');
          const want = [...model].slice(0, o.n).join(',');
          if (got !== want) throw new Error(`first ${o.n} at ${i}: ${got}, expected ${want}`);
        }
        if (set.size !== model.size || set.has(i % 41) !== model.has(i % 41)) throw new Error(`size or membership disagrees at ${i}`);
      });
    }),
    { numRuns: 200 },
  );
  t.pass('200 random sequences of add, delete and oldest-first walks agree with a Set');
});

t.test('a queue drained from the front while it fills at the back stays in order', async (t) => {
  const set = new OrderedSet<number>();
  let next = 0;
  for (; next < 5_000; next++) set.add(next);
  const taken: number[] = [];
  for (let round = 0; round < 2_000; round++) {
    for (let j = 0; j < 3; j++) set.add(next++);
    const batch = firstOf(set, 5);
    for (const v of batch) set.delete(v);
    taken.push(...batch);
  }
  t.same(taken, Array.from({ length: 10_000 }, (_, i) => i), 'every member once, oldest first');
  t.equal(set.size, 5_000 + 6_000 - 10_000);
});
