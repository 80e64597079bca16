import { createHash } from 'node:crypto';
import t from 'tap';
import fc from 'fast-check';
import { defaultQueueConfig } from '@conveyor/client-sdk';
import { DedupCache } from '../../frontend/src/core/dedup-cache.ts';

t.test('deduplication keys follow the queue type, content-based deduplication and scope', async (t) => {
  const std = defaultQueueConfig(false);
  const fifo = { ...defaultQueueConfig(true) };
  const cbd = { ...fifo, contentBasedDeduplication: true };
  const perGroup = { ...fifo, deduplicationScope: 'messageGroup' as const };
  t.equal(DedupCache.key('q', std, { body: 'x', dedupId: 'd' }), undefined, 'standard queues have none');
  t.equal(DedupCache.key('q.fifo', fifo, { body: 'x', groupId: 'g' }), undefined, 'no id and no content-based deduplication: none');
  t.equal(DedupCache.key('q.fifo', fifo, { body: 'x', groupId: 'g', dedupId: 'd' }), 'q.fifo\u0000d', 'an explicit id');
  t.equal(DedupCache.key('q.fifo', cbd, { body: 'x', groupId: 'g' }), `q.fifo\u0000${createHash('sha256').update('x').digest('hex')}`, 'the body hash');
  t.not(DedupCache.key('q.fifo', perGroup, { body: 'x', groupId: 'g1', dedupId: 'd' }), DedupCache.key('q.fifo', perGroup, { body: 'x', groupId: 'g2', dedupId: 'd' }), 'message-group scope keeps groups apart');
});

t.test('answers are remembered per queue and forgotten with the queue', async (t) => {
  const cache = new DedupCache(10);
  cache.remember('a.fifo\u0000d', { messageId: 'm1', sequenceNumber: '1' });
  cache.remember('b.fifo\u0000d', { messageId: 'm2' });
  t.same(cache.get('a.fifo\u0000d'), { messageId: 'm1', sequenceNumber: '1' });
  t.equal(cache.get(undefined), undefined);
  cache.forgetQueue('a.fifo');
  t.equal(cache.get('a.fifo\u0000d'), undefined, 'the deleted queue is forgotten');
  t.same(cache.get('b.fifo\u0000d'), { messageId: 'm2' }, 'others are kept');
});

t.test('answers expire, the oldest go first at the size bound, and a remembered key moves to the back', async (t) => {
  let now = 1_000;
  const cache = new DedupCache(2, () => now);
  cache.remember('q\u0000a', { messageId: 'a' });
  cache.remember('q\u0000b', { messageId: 'b' });
  cache.remember('q\u0000a', { messageId: 'a2' });
  cache.remember('q\u0000c', { messageId: 'c' });
  t.equal(cache.size, 2, 'bounded');
  t.equal(cache.get('q\u0000b'), undefined, 'the oldest went first');
  t.same(cache.get('q\u0000a'), { messageId: 'a2' }, 'the re-remembered answer stayed');
  now += 4 * 60_000 + 1;
  t.equal(cache.get('q\u0000a'), undefined, 'expired after four minutes');
  cache.remember('q\u0000d', { messageId: 'd' });
  t.equal(cache.size, 1, 'expired entries leave as new ones come');
  t.same(cache.get('q\u0000d'), { messageId: 'd' });
});

t.test('property: the cache answers as a list kept in remembering order would', async (t) => {
  type Op = { kind: 'remember'; key: string } | { kind: 'get'; key: string } | { kind: 'wait'; ms: number } | { kind: 'forget'; queue: string };
  const key = fc.tuple(fc.constantFrom('q1', 'q2'), fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f')).map(([q, k]) => `${q}\u0000${k}`);
  const op: fc.Arbitrary<Op> = fc.oneof(
    key.map((k) => ({ kind: 'remember' as const, key: k })),
    key.map((k) => ({ kind: 'get' as const, key: k })),
    fc.integer({ min: 1, max: 120_000 }).map((ms) => ({ kind: 'wait' as const, ms })),
    fc.constantFrom('q1', 'q2').map((queue) => ({ kind: 'forget' as const, queue })),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 300 }), (max, ops) => {
      let now = 0;
      const cache = new DedupCache(max, () => now);
      let model: Array<{ key: string; id: string; expiresAt: number }> = [];
      const ttl = 4 * 60_000;
      ops.forEach((o, i) => {
        if (o.kind === 'wait') now += o.ms;
        else if (o.kind === 'forget') {
          cache.forgetQueue(o.queue);
          model = model.filter((e) => !e.key.startsWith(`${o.queue}\u0000`));
        } else if (o.kind === 'remember') {
          cache.remember(o.key, { messageId: `m${i}` });
          model = model.filter((e) => e.key !== o.key);
          model.push({ key: o.key, id: `m${i}`, expiresAt: now + ttl });
          while (model.length > 0 && (model[0]!.expiresAt <= now || model.length > max)) model.shift();
        } else {
          const found = model.find((e) => e.key === o.key && e.expiresAt > now);
          const got = cache.get(o.key)?.messageId;
          if (got !== found?.id) throw new Error(`get ${o.key} after ${i} operations: ${String(got)}, expected ${String(found?.id)}`);
        }
      });
      if (cache.size > max) throw new Error(`${cache.size} entries, over the bound of ${max}`);
    }),
    { numRuns: 300 },
  );
  t.pass('300 random sequences of remember, get, time passing and forgetting agree with the model');
});
