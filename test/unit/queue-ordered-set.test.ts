/** The queue's two oldest-first structures: OrderedSet (FIFO groups) and ReadyList (ready messages). */
import t from 'tap';
import fc from 'fast-check';
import { OrderedSet } from '../../backend-node/src/queue/ordered-set.ts';
import { ReadyList } from '../../backend-node/src/queue/ready-list.ts';
import type { MessageMeta } from '../../backend-node/src/queue/types.ts';

/** Either structure, over small integers. */
interface Oldest {
  add(v: number): void;
  delete(v: number): boolean;
  has(v: number): boolean;
  readonly size: number;
  /** The first `n` members, oldest first. */
  first(n: number): number[];
  /** Length of the backing array, emptied slots included. */
  readonly slots: number;
}

function walk<T>(forEachOldest: (visit: (value: T) => boolean) => void, n: number, map: (value: T) => number): number[] {
  const out: number[] = [];
  forEachOldest((v) => {
    if (out.length >= n) return false;
    out.push(map(v));
    return true;
  });
  return out;
}

function orderedSet(): Oldest {
  const set = new OrderedSet<number>();
  return {
    add: (v) => set.add(v),
    delete: (v) => set.delete(v),
    has: (v) => set.has(v),
    get size() { return set.size; },
    first: (n) => walk<number>((visit) => set.forEachOldest(visit), n, (v) => v),
    get slots() { return (set as unknown as { order: unknown[] }).order.length; },
  };
}

function readyList(): Oldest {
  const list = new ReadyList();
  // One meta per value, as a queue has one per message.
  const metas = new Map<number, MessageMeta>();
  const metaOf = (seq: number): MessageMeta => {
    let meta = metas.get(seq);
    if (!meta) metas.set(seq, (meta = { seq, id: `m${seq}`, sentAt: 0, enqueuedAt: 0, visibleAt: 0, receiveCount: 0, firstReceiveAt: 0, receivedAt: 0, nonce: 0, md5OfBody: '' }));
    return meta;
  };
  return {
    add: (v) => list.add(metaOf(v)),
    delete: (v) => list.delete(metaOf(v)),
    has: (v) => list.has(metaOf(v)),
    get size() { return list.size; },
    first: (n) => walk<MessageMeta>((visit) => list.forEachOldest(visit), n, (m) => m.seq),
    get slots() { return (list as unknown as { order: unknown[] }).order.length; },
  };
}

for (const [name, make] of [['OrderedSet', orderedSet], ['ReadyList', readyList]] as const) {
  t.test(`${name} property: members come out in the order a JS Set keeps them`, async (t) => {
    type Op = { kind: 'add'; value: number } | { kind: 'delete'; value: number } | { kind: 'take'; n: number };
    const value = fc.integer({ min: 0, max: 40 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      value.map((v) => ({ kind: 'add' as const, value: v })),
      value.map((v) => ({ kind: 'delete' as const, value: v })),
      fc.integer({ min: 0, max: 50 }).map((n) => ({ kind: 'take' as const, n })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3_000 }), (ops) => {
        const set = make();
        const model = new Set<number>();
        ops.forEach((o, i) => {
          if (o.kind === 'add') {
            set.add(o.value);
            model.add(o.value);
          } else if (o.kind === 'delete') {
            if (set.delete(o.value) !== model.delete(o.value)) throw new Error(`delete ${o.value} at ${i} disagrees`);
          } else {
            const got = set.first(o.n).join(',');
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

  t.test(`${name}: a queue drained from the front while it fills at the back stays in order`, async (t) => {
    const set = make();
    let next = 0;
    for (; next < 5_000; next++) set.add(next);
    const taken: number[] = [];
    for (let round = 0; round < 2_000; round++) {
      for (let j = 0; j < 3; j++) set.add(next++);
      const batch = set.first(5);
      for (const v of batch) set.delete(v);
      taken.push(...batch);
    }
    t.same(taken, Array.from({ length: 10_000 }, (_, i) => i), 'every member once, oldest first');
    t.equal(set.size, 5_000 + 6_000 - 10_000);
  });

  t.test(`${name}: a steady backlog does not grow the backing array without bound`, async (t) => {
    const set = make();
    for (let v = 0; v < 1_000; v++) set.add(v);
    for (let round = 0; round < 50_000; round++) {
      const [oldest] = set.first(1);
      set.delete(oldest!);
      set.add(oldest! + 1_000);
    }
    t.same(set.first(3), [50_000, 50_001, 50_002], 'still oldest first');
    t.equal(set.size, 1_000);
    t.ok(set.slots <= 3 * 1_000 + 2_048, `the backing array stays bounded (${set.slots} slots for 1,000 members)`);
  });
}
