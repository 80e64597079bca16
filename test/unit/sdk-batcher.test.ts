/** The SDK's batcher on a fake clock: cuts by count, bytes and linger; pipelining; per-entry outcomes; flush and close. */
import t from 'tap';
import fc from 'fast-check';
import { Batcher, ConveyorError, type BatcherOptions, type EntryOutcome } from '@conveyor/client-sdk';
import { FakeTimers, settle } from '../support/fake-timers.ts';

const OPTIONS: BatcherOptions = { maxEntries: 4, maxBytes: 100, lingerMs: 2, idleLingerMs: 2, maxInFlight: 1 };

/** An executor that records batches and answers when the test says so. */
function recorder() {
  const batches: number[][] = [];
  const answers: Array<() => void> = [];
  const execute = (entries: readonly number[]): Promise<Array<EntryOutcome<string>>> => {
    batches.push([...entries]);
    return new Promise((resolve) => answers.push(() => resolve(entries.map((n) => (n < 0 ? { ok: false as const, error: new ConveyorError('InvalidParameterValue', `bad ${n}`) } : { ok: true as const, value: `v${n}` })))));
  };
  return { batches, answers, execute };
}

t.test('a batch waits for the linger, then goes with everything gathered', async (t) => {
  const timers = new FakeTimers();
  const r = recorder();
  const b = new Batcher(OPTIONS, r.execute, timers);
  const results = [b.add(1, 10), b.add(2, 10), b.add(3, 10)];
  await settle();
  t.same(r.batches, [], 'nothing sent before the linger');
  await timers.advanceAsync(1);
  t.same(r.batches, [], 'still nothing at 1 ms');
  await timers.advanceAsync(1);
  t.same(r.batches, [[1, 2, 3]], 'one batch at 2 ms');
  r.answers.shift()!();
  t.same(await Promise.all(results), ['v1', 'v2', 'v3'], 'each caller gets its own value');
});

t.test('while nothing is in flight, a batch goes at the end of the tick; while batches are in flight, it lingers', async (t) => {
  const timers = new FakeTimers();
  const r = recorder();
  const b = new Batcher({ ...OPTIONS, idleLingerMs: 0, maxInFlight: 2 }, r.execute, timers);
  void b.add(1, 1);
  void b.add(2, 1);
  await timers.advanceAsync(0);
  t.same(r.batches, [[1, 2]], 'idle: what one tick gathered goes without waiting');
  void b.add(3, 1);
  await timers.advanceAsync(1);
  t.same(r.batches.length, 1, 'busy: the next batch lingers');
  await timers.advanceAsync(1);
  t.same(r.batches[1], [3], 'for lingerMs');
  for (const a of r.answers) a();
});

t.test('a full batch goes at once, by count and by bytes', async (t) => {
  const timers = new FakeTimers();
  const r = recorder();
  const b = new Batcher({ ...OPTIONS, maxInFlight: 10 }, r.execute, timers);
  for (const n of [1, 2, 3, 4]) void b.add(n, 1);
  await settle();
  t.same(r.batches, [[1, 2, 3, 4]], 'cut at maxEntries without waiting');
  void b.add(5, 60);
  void b.add(6, 60);
  await settle();
  t.same(r.batches[1], [5], 'the entry that would pass maxBytes starts a new batch');
  void b.add(7, 40);
  await settle();
  t.same(r.batches[2], [6, 7], 'a batch that reaches maxBytes exactly goes at once');
  void b.add(8, 500);
  await settle();
  t.same(r.batches[3], [8], 'an entry larger than maxBytes goes alone');
  for (const a of r.answers) a();
});

t.test('partial failures reach the right callers; a failed request fails its whole batch', async (t) => {
  const timers = new FakeTimers();
  const r = recorder();
  const b = new Batcher(OPTIONS, r.execute, timers);
  const three = Promise.allSettled([b.add(1, 1), b.add(-2, 1), b.add(3, 1)]);
  await timers.advanceAsync(2);
  r.answers.shift()!();
  const [good, bad, good2] = await three;
  t.same(good, { status: 'fulfilled', value: 'v1' });
  t.match(bad, { status: 'rejected', reason: { code: 'InvalidParameterValue', message: 'bad -2' } }, 'the failed entry rejects with its own error');
  t.same(good2, { status: 'fulfilled', value: 'v3' });

  const failing = new Batcher(OPTIONS, () => Promise.reject(new ConveyorError('ServiceUnavailable', 'down')), timers);
  const all = Promise.allSettled([failing.add(1, 1), failing.add(2, 1)]);
  await timers.advanceAsync(2);
  for (const p of await all) t.match(p, { status: 'rejected', reason: { code: 'ServiceUnavailable' } }, 'every entry of a failed request rejects');

  const short = new Batcher(OPTIONS, async () => [{ ok: true as const, value: 'only one' }], timers);
  const pair = [short.add(1, 1), short.add(2, 1)];
  const outcomes = Promise.allSettled(pair);
  await timers.advanceAsync(2);
  const [one, two] = await outcomes;
  t.same(one, { status: 'fulfilled', value: 'only one' });
  t.match(two, { status: 'rejected', reason: { code: 'InternalFailure' } }, 'an answer missing an entry is an error for that entry, not a hang');
});

t.test('with every slot busy, an expired linger does not cut: the open batch grows until a slot frees', async (t) => {
  const timers = new FakeTimers();
  const r = recorder();
  const b = new Batcher({ ...OPTIONS, maxEntries: 100, maxBytes: 10_000 }, r.execute, timers);
  void b.add(1, 1);
  await timers.advanceAsync(2);
  t.same(r.batches, [[1]], 'the first batch is in flight');
  for (const n of [2, 3]) void b.add(n, 1);
  await timers.advanceAsync(5);
  void b.add(4, 1);
  await timers.advanceAsync(5);
  t.equal(r.batches.length, 1, 'nothing more goes while the only slot is busy');
  r.answers.shift()!();
  await settle();
  t.same(r.batches[1], [2, 3, 4], 'the freed slot takes everything gathered meanwhile');
  t.equal(b.inFlight, 1);
  r.answers.shift()!();
  await settle();
  t.equal(b.inFlight, 0);
  t.equal(b.pending, 0);
});

t.test('flush sends at once and waits for what is in flight; close refuses new entries', async (t) => {
  const timers = new FakeTimers();
  const r = recorder();
  const b = new Batcher({ ...OPTIONS, maxInFlight: 2 }, r.execute, timers);
  const first = b.add(1, 1);
  let flushed = false;
  const flushing = b.flush().then(() => (flushed = true));
  await settle();
  t.same(r.batches, [[1]], 'flush does not wait for the linger');
  t.equal(flushed, false, 'flush waits for the answer');
  r.answers.shift()!();
  await flushing;
  t.equal(await first, 'v1');
  const late = b.add(2, 1);
  const closing = b.close();
  await settle();
  r.answers.shift()!();
  await closing;
  t.equal(await late, 'v2', 'close sends what was gathered');
  await t.rejects(b.add(3, 1), { code: 'ClientClosed' }, 'a closed batcher refuses');
});

t.test('property: any sequence of adds and answers settles every caller with its own outcome, within the limits', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ value: fc.integer({ min: -5, max: 1000 }), bytes: fc.integer({ min: 1, max: 60 }), gapMs: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 60 }),
      fc.integer({ min: 1, max: 3 }),
      async (adds, maxInFlight) => {
        const timers = new FakeTimers();
        const batches: Array<{ entries: readonly number[]; bytes: number }> = [];
        const sizes = new Map<number, number>();
        let inFlight = 0;
        let peak = 0;
        const b = new Batcher<number, number>({ ...OPTIONS, maxInFlight }, async (entries) => {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          batches.push({ entries, bytes: entries.reduce((s, i) => s + sizes.get(i)!, 0) });
          await new Promise<void>((resolve) => timers.setTimeout(resolve, 1));
          inFlight -= 1;
          return entries.map((i) => (adds[i]!.value < 0 ? { ok: false as const, error: new Error(`e${i}`) } : { ok: true as const, value: adds[i]!.value }));
        }, timers);
        const results: Array<Promise<number>> = [];
        for (const [i, a] of adds.entries()) {
          sizes.set(i, a.bytes);
          const result = b.add(i, a.bytes);
          result.catch(() => undefined); // inspected below
          results.push(result);
          await timers.advanceAsync(a.gapMs);
        }
        const flushing = b.flush();
        await timers.advanceAsync(1_000);
        await flushing;
        const settled = await Promise.allSettled(results);
        settled.forEach((s, i) => {
          if (adds[i]!.value < 0) {
            if (s.status !== 'rejected' || (s.reason as Error).message !== `e${i}`) throw new Error(`entry ${i} did not get its own error`);
          } else if (s.status !== 'fulfilled' || s.value !== adds[i]!.value) throw new Error(`entry ${i} did not get its own value`);
        });
        const seen = batches.flatMap((x) => x.entries).sort((a, c) => a - c);
        if (seen.join() !== adds.map((_, i) => i).join()) throw new Error('every entry is sent exactly once');
        for (const x of batches) {
          if (x.entries.length > OPTIONS.maxEntries) throw new Error('a batch over maxEntries');
          if (x.entries.length > 1 && x.bytes > OPTIONS.maxBytes) throw new Error('a batch over maxBytes');
        }
        if (peak > maxInFlight) throw new Error(`${peak} batches in flight, limit ${maxInFlight}`);
      },
    ),
    { numRuns: 60 },
  );
  t.pass('held for every generated sequence');
});
