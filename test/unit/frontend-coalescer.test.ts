import t from 'tap';
import fc from 'fast-check';
import { Coalescer, mergeBatchCalls, mergeReceives, type BatchOutcome } from '../../frontend/src/upstream/coalescer.ts';

interface Entry {
  id: string;
  value: number;
}
type Success = { id: string; value: number };
type Failure = { id: string; code: string };

/** A fake backend: records each call and answers when told, odd values failing per entry. */
function fakeBackend() {
  const calls: Array<{ entries: Entry[]; answer: () => void; fail: (e: Error) => void }> = [];
  let out = 0;
  let maxOut = 0;
  const call = (entries: Entry[]): Promise<BatchOutcome<Success, Failure>> => {
    out++;
    maxOut = Math.max(maxOut, out);
    return new Promise((resolve, reject) => {
      calls.push({
        entries,
        answer: () => {
          out--;
          resolve({
            successful: entries.filter((e) => e.value % 2 === 0).map((e) => ({ id: e.id, value: e.value })),
            failed: entries.filter((e) => e.value % 2 === 1).map((e) => ({ id: e.id, code: `odd${e.value}` })),
          });
        },
        fail: (error) => {
          out--;
          reject(error);
        },
      });
    });
  };
  return { calls, call, maxOut: () => maxOut };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('one batch at a time goes out as it is, unmerged', async (t) => {
  const backend = fakeBackend();
  const coalescer = new Coalescer(mergeBatchCalls(backend.call), { maxInFlight: 1, maxEntries: 1000, maxBytes: 1 << 20 });
  for (let i = 0; i < 3; i++) {
    const batch = [{ id: `a${i}`, value: 2 }, { id: `b${i}`, value: 3 }];
    const result = coalescer.submit(batch, { entries: batch.length, bytes: 10 });
    await tick();
    t.same(backend.calls[i]!.entries, batch, 'the call carries the batch with its own ids');
    backend.calls[i]!.answer();
    t.same(await result, { successful: [{ id: `a${i}`, value: 2 }], failed: [{ id: `b${i}`, code: 'odd3' }] });
  }
  t.equal(backend.calls.length, 3);
  await tick();
  t.ok(coalescer.idle);
});

t.test('property: under load every caller gets exactly its own results, each entry sent once, bounds kept', async (t) => {
  const batch = fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 1, maxLength: 12 });
  await fc.assert(
    fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 5, max: 40 }), fc.array(fc.nat(), { maxLength: 200 }), async (batches, maxInFlight, maxEntries, order) => {
      const backend = fakeBackend();
      let idles = 0;
      const coalescer = new Coalescer(mergeBatchCalls(backend.call), { maxInFlight, maxEntries, maxBytes: 1 << 20 }, () => idles++);
      // Ids repeat across batches (every caller numbers its own entries), as with real callers.
      const results = batches.map((values) => coalescer.submit(values.map((value, i) => ({ id: `e${i}`, value })), { entries: values.length, bytes: values.length }));
      // Answer calls in an arbitrary order, as a backend's group commits may.
      let answered = 0;
      for (let step = 0; answered < backend.calls.length || step === 0; step++) {
        const open = backend.calls.slice(answered);
        if (open.length === 0) break;
        t.ok(backend.maxOut() <= maxInFlight, 'never more calls out than allowed');
        // Answer the oldest unanswered call, or one chosen by `order` among those out.
        const pick = order.length > 0 ? order[step % order.length]! % open.length : 0;
        const [call] = backend.calls.splice(answered + pick, 1);
        backend.calls.splice(answered, 0, call!);
        call!.answer();
        answered++;
        await tick();
      }
      const outcomes = await Promise.all(results);
      await tick();
      outcomes.forEach((outcome, b) => {
        const values = batches[b]!;
        t.same(
          outcome.successful.map((s) => s.id).sort(),
          values.flatMap((v, i) => (v % 2 === 0 ? [`e${i}`] : [])).sort(),
        );
        t.same(
          outcome.failed.map((f) => `${f.id}:${f.code}`).sort(),
          values.flatMap((v, i) => (v % 2 === 1 ? [`e${i}:odd${v}`] : [])).sort(),
        );
        for (const s of outcome.successful) t.equal(s.value, values[Number(s.id.slice(1))], 'a success carries its own entry');
      });
      const sent = backend.calls.reduce((n, c) => n + c.entries.length, 0);
      t.equal(sent, batches.reduce((n, b) => n + b.length, 0), 'each entry sent exactly once');
      for (const c of backend.calls) {
        // A single batch may exceed maxEntries alone (the caller's own limit was checked before).
        if (c.entries.some((e) => /^\d+$/.test(e.id))) t.ok(c.entries.length <= maxEntries, 'a merged call keeps to maxEntries');
      }
      t.ok(coalescer.idle);
      t.ok(idles >= 1, 'idle is reported once everything is answered');
    }),
    { numRuns: 60 },
  );
});

t.test('an error of a merged call reaches each caller in it and no other', async (t) => {
  const backend = fakeBackend();
  const coalescer = new Coalescer(mergeBatchCalls(backend.call), { maxInFlight: 1, maxEntries: 1000, maxBytes: 1 << 20 });
  const first = coalescer.submit([{ id: 'x', value: 2 }], { entries: 1, bytes: 1 });
  const second = coalescer.submit([{ id: 'y', value: 2 }], { entries: 1, bytes: 1 });
  const third = coalescer.submit([{ id: 'z', value: 4 }], { entries: 1, bytes: 1 });
  await tick();
  t.equal(backend.calls.length, 1, 'the later two wait while the first is out');
  backend.calls[0]!.answer();
  t.same(await first, { successful: [{ id: 'x', value: 2 }], failed: [] });
  await tick();
  t.equal(backend.calls.length, 2);
  t.same(backend.calls[1]!.entries, [{ id: '0', value: 2 }, { id: '1', value: 4 }], 'the two waiting batches leave as one, renumbered');
  backend.calls[1]!.fail(new Error('NotLeader'));
  await t.rejects(second, /NotLeader/);
  await t.rejects(third, /NotLeader/);
  await tick();
  t.ok(coalescer.idle);
});

t.test('a merged call stops taking batches at maxBytes, but a large batch still goes alone', async (t) => {
  const backend = fakeBackend();
  const coalescer = new Coalescer(mergeBatchCalls(backend.call), { maxInFlight: 1, maxEntries: 1000, maxBytes: 100 });
  const all = [
    coalescer.submit([{ id: 'a', value: 0 }], { entries: 1, bytes: 10 }),
    coalescer.submit([{ id: 'b', value: 0 }], { entries: 1, bytes: 60 }),
    coalescer.submit([{ id: 'c', value: 0 }], { entries: 1, bytes: 30 }),
    coalescer.submit([{ id: 'd', value: 0 }], { entries: 1, bytes: 500 }),
  ];
  for (let i = 0; i < 3; i++) {
    await tick();
    t.equal(backend.calls.length, i + 1, `call ${i + 1} is out`);
    backend.calls[i]!.answer();
  }
  await Promise.all(all);
  t.same(backend.calls.map((c) => c.entries.length), [1, 2, 1], 'a alone (out first), then b + c (90 bytes), then d alone (500 > 100)');
});

t.test('merged receives hand the messages out in order, none beyond what a caller asked for', async (t) => {
  const asked: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const available = Array.from({ length: 12 }, (_, i) => i);
  const coalescer = new Coalescer(
    mergeReceives(async (max: number) => {
      asked.push(max);
      if (asked.length === 1) await gate;
      return available.splice(0, max);
    }),
    { maxInFlight: 1, maxEntries: 1000, maxBytes: Number.POSITIVE_INFINITY },
  );
  const first = coalescer.submit(2, { entries: 2, bytes: 0 });
  const waiting = [coalescer.submit(3, { entries: 3, bytes: 0 }), coalescer.submit(10, { entries: 10, bytes: 0 }), coalescer.submit(4, { entries: 4, bytes: 0 })];
  release();
  t.same(await first, [0, 1]);
  t.same(await Promise.all(waiting), [[2, 3, 4], [5, 6, 7, 8, 9, 10, 11], []], 'the later three asked as one call and split its 10 messages in order');
  t.same(asked, [2, 17]);
});
