/**
 * The frontend's pure traffic rules on a fake clock: token buckets, per-key and per-queue limits
 * with bounded tables, and admission (requests in flight, long polls parked). fast-check compares
 * the bucket with a naive model that counts requests inside sliding windows. Replay with FC_SEED.
 */
import fc from 'fast-check';
import t from 'tap';
import { Admission } from '../../frontend/src/core/admission.ts';
import { RateLimiter } from '../../frontend/src/core/rate-limiter.ts';
import { TokenBucket } from '../../frontend/src/core/token-bucket.ts';
import { TRAFFIC_DEFAULTS, resolveTrafficConfig } from '../../frontend/src/http/traffic-guard.ts';
import { FakeClock } from '../support/index.ts';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;

t.test('a token bucket allows its burst, then its rate, and says when to retry', async (t) => {
  const clock = new FakeClock();
  const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5 }, clock.now());
  for (let i = 0; i < 5; i++) t.ok(bucket.take(clock.now()).ok, `burst token ${i + 1}`);
  const refused = bucket.take(clock.now());
  t.notOk(refused.ok, 'the sixth at once is refused');
  t.equal(refused.retryAfterMs, 100, 'one token comes back after 1/rate');
  clock.advance(99);
  t.notOk(bucket.take(clock.now()).ok, 'not a millisecond early');
  clock.advance(1);
  t.ok(bucket.take(clock.now()).ok, 'then one more');
  clock.advance(60_000);
  t.ok(bucket.isFull(clock.now()), 'a long pause refills it, to its burst only');
  for (let i = 0; i < 5; i++) bucket.take(clock.now());
  t.notOk(bucket.take(clock.now()).ok, 'so a pause buys no more than the burst');
  clock.nowMs -= 10_000;
  t.notOk(bucket.take(clock.now()).ok, 'a clock stepping back refills nothing');
  t.throws(() => new TokenBucket({ ratePerSecond: 0, burst: 1 }, 0), RangeError, 'a rate of 0 is refused');
});

t.test('over any window, a bucket admits at most burst + rate × window (property)', async (t) => {
  await fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 300 }), (rate, burst, gaps) => {
      const clock = new FakeClock(0);
      const bucket = new TokenBucket({ ratePerSecond: rate, burst }, clock.now());
      const admitted: number[] = [];
      for (const gap of gaps) {
        clock.advance(gap);
        const r = bucket.take(clock.now());
        if (r.ok) admitted.push(clock.now());
        else if (r.retryAfterMs < 1) return false;
      }
      // Naive model: in every window [a, b], admissions ≤ burst + rate·(b − a)/1000.
      for (let i = 0; i < admitted.length; i++) {
        for (let j = i; j < admitted.length; j++) {
          if (j - i + 1 > burst + (rate * (admitted[j]! - admitted[i]!)) / 1000 + 1e-9) return false;
        }
      }
      return true;
    }),
    { seed, numRuns: 200 },
  );
  t.pass('never more than the bucket allows');
});

t.test('limits per key and per queue; a flooding key spends none of the queue’s tokens', async (t) => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ perKey: { ratePerSecond: 10, burst: 10 }, perQueue: { ratePerSecond: 15, burst: 15 }, maxTracked: 100 });
  let flooderOk = 0;
  for (let i = 0; i < 100; i++) if (limiter.take('flooder', 'shared', clock.now()).ok) flooderOk += 1;
  t.equal(flooderOk, 10, 'the flooding key gets its burst and no more');
  const refused = limiter.take('flooder', 'shared', clock.now());
  t.same(refused.ok ? undefined : refused.scope, 'key', 'refused by its own limit');
  let otherOk = 0;
  for (let i = 0; i < 5; i++) if (limiter.take('polite', 'shared', clock.now()).ok) otherOk += 1;
  t.equal(otherOk, 5, 'another key still finds the queue’s remaining tokens');
  const queueFull = limiter.take('third', 'shared', clock.now());
  t.same(queueFull.ok ? undefined : queueFull.scope, 'queue', 'then the queue’s own limit refuses everyone');
  t.ok(limiter.take('third', 'other-queue', clock.now()).ok, 'other queues are not affected');
  t.ok(limiter.take('polite', undefined, clock.now()).ok, 'calls without a queue are limited per key only');
});

t.test('the limiter’s tables stay bounded under a flood of made-up keys and queues', async (t) => {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ perKey: { ratePerSecond: 1, burst: 1 }, perQueue: { ratePerSecond: 1, burst: 1 }, maxTracked: 50 });
  for (let i = 0; i < 10_000; i++) limiter.take(`key-${i}`, `queue-${i}`, clock.now());
  t.same(limiter.sizes(), { keys: 50, queues: 50 }, 'at most maxTracked buckets per table');
  limiter.take('hot', 'hot-queue', clock.now());
  for (let i = 0; i < 200; i++) {
    limiter.take(`cold-${i}`, undefined, clock.now());
    if (i % 10 === 0) limiter.take('hot', undefined, clock.now());
  }
  t.notOk(limiter.take('hot', undefined, clock.now()).ok, 'a key in use stays tracked (least recently used goes first), so churn cannot reset it');
});

t.test('admission: requests in flight and parked long polls have separate caps', async (t) => {
  const admission = new Admission({ maxRequests: 2, maxLongPolls: 1 });
  t.ok(admission.enter(), 'first request');
  t.ok(admission.enter(), 'second request');
  t.notOk(admission.enter(), 'the third is shed');
  t.ok(admission.toLongPoll(), 'a request that parks moves to the long-poll count');
  t.same(admission.counts, { requests: 1, longPolls: 1 });
  t.ok(admission.enter(), 'which frees a request slot');
  t.notOk(admission.toLongPoll(), 'a second long poll is refused');
  t.same(admission.counts, { requests: 2, longPolls: 1 }, 'and stays counted as a request until it leaves');
  admission.leave('longPoll');
  admission.leave('request');
  admission.leave('request');
  admission.leave('request');
  t.same(admission.counts, { requests: 0, longPolls: 0 }, 'leaving never goes below zero');
});

t.test('traffic settings are checked against the defaults and name the bad field', async (t) => {
  t.same(resolveTrafficConfig(), TRAFFIC_DEFAULTS, 'nothing given: the defaults');
  t.equal(resolveTrafficConfig({ keyRatePerSecond: 0 }).keyRatePerSecond, 0, '0 turns a rate limit off');
  t.throws(() => resolveTrafficConfig({ maxInFlight: 0 }), /maxInFlight must be at least 1/);
  t.throws(() => resolveTrafficConfig({ queueBurst: -1 }), /queueBurst must be a number >= 0/);
  t.throws(() => resolveTrafficConfig({ keyRatePerSecond: Number.NaN }), /keyRatePerSecond/);
  t.throws(() => resolveTrafficConfig({ burst: 5 } as never), /unknown traffic option burst/);
});
