import t from 'tap';
import fc from 'fast-check';
import { SeqMap } from '../../backend-node/src/storage/seq-map.ts';

function entries<V>(map: SeqMap<V>): Array<[number, V]> {
  const out: Array<[number, V]> = [];
  map.forEach((seq, value) => out.push([seq, value]));
  return out;
}

t.test('property: a SeqMap holds what a Map holds, whatever the order of sets and deletes', async (t) => {
  type Op = { kind: 'set'; seq: number; value: number | null } | { kind: 'delete'; seq: number } | { kind: 'get'; seq: number };
  // Runs near a base (as write sets see them), across chunk edges, and far-apart numbers past 2^32.
  const seq = fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 100 }), weight: 4 },
    { arbitrary: fc.integer({ min: 2 ** 32 - 70, max: 2 ** 32 + 70 }), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), weight: 1 },
  );
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), seq, value: fc.option(fc.integer(), { nil: null }) }),
    fc.record({ kind: fc.constant('delete' as const), seq }),
    fc.record({ kind: fc.constant('get' as const), seq }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const map = new SeqMap<number | null>();
      const model = new Map<number, number | null>();
      ops.forEach((o, i) => {
        if (o.kind === 'set') {
          map.set(o.seq, o.value);
          model.set(o.seq, o.value);
        } else if (o.kind === 'delete') {
          if (map.delete(o.seq) !== model.delete(o.seq)) throw new Error(`delete ${o.seq} at ${i} disagrees`);
        } else if (map.get(o.seq) !== model.get(o.seq)) {
          throw new Error(`get ${o.seq} at ${i}: ${map.get(o.seq)}, expected ${model.get(o.seq)}`);
        }
        if (map.size !== model.size) throw new Error(`size ${map.size} at ${i}, expected ${model.size}`);
      });
      const want = [...model].sort((a, b) => a[0] - b[0]);
      if (JSON.stringify(entries(map).sort((a, b) => a[0] - b[0])) !== JSON.stringify(want)) throw new Error('forEach disagrees with the model');
    }),
    { numRuns: 1_000 },
  );
  t.pass('1,000 random sequences agree with a Map');
});

t.test('a run of sequence numbers comes out in order, and emptied chunks go', async (t) => {
  const map = new SeqMap<string>();
  for (let seq = 1_000; seq < 1_100; seq++) map.set(seq, `v${seq}`);
  t.same(entries(map).map(([seq]) => seq), Array.from({ length: 100 }, (_, i) => 1_000 + i), 'ascending');
  for (let seq = 1_000; seq < 1_100; seq++) map.delete(seq);
  t.equal(map.size, 0);
  t.equal((map as unknown as { chunks: Map<number, unknown> }).chunks.size, 0, 'no chunk is kept once empty');
  // The last chunk used was the one of 1,099, now gone: a write there must make it again.
  map.set(1_099, 'again');
  t.equal(map.get(1_099), 'again');
  t.same(entries(map), [[1_099, 'again']], 'written to a chunk made again, not to the one that went');
  t.equal(map.get(1_098), undefined);
});
