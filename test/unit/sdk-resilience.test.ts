/** The SDK's backoff (full jitter, bounded by attempts and a deadline) and circuit breaker, on a fake clock. */
import t from 'tap';
import fc from 'fast-check';
import { backoffDelayMs, CircuitBreaker, ConveyorError, DEFAULT_RETRY, isRetryable, nextRetryDelayMs, type BreakerState } from '@conveyor/client-sdk';
import { FakeClock, seededRandom } from '../support/fake-clock.ts';

t.test('full-jitter backoff stays within [0, min(cap, base·2^attempt))', async (t) => {
  const options = { baseDelayMs: 25, maxDelayMs: 1_000 };
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const delay = backoffDelayMs(attempt, options, () => r);
      return delay >= 0 && delay < Math.max(1, Math.min(1_000, 25 * 2 ** attempt));
    }),
  );
  t.equal(backoffDelayMs(0, options, () => 0.999), 24, 'the first retry waits under the base');
  t.equal(backoffDelayMs(10, options, () => 0.5), 500, 'later retries are capped');
  const random = seededRandom(7);
  const delays = Array.from({ length: 200 }, () => backoffDelayMs(6, options, random));
  t.ok(new Set(delays).size > 100, 'jitter spreads the waits (no thundering herd)');
});

t.test('a retry is planned only while attempts remain and the wait ends before the deadline', async (t) => {
  const options = { ...DEFAULT_RETRY, maxAttempts: 3, totalDeadlineMs: 1_000 };
  t.type(nextRetryDelayMs(0, 0, 1_000, options, () => 0.5), 'number', 'first retry');
  t.type(nextRetryDelayMs(1, 0, 1_000, options, () => 0.5), 'number', 'second retry');
  t.equal(nextRetryDelayMs(2, 0, 1_000, options, () => 0.5), undefined, 'no third retry with three attempts');
  t.equal(nextRetryDelayMs(0, 990, 1_000, options, () => 0.9), undefined, 'a wait past the deadline gives up instead');
  t.equal(isRetryable(new ConveyorError('RequestThrottled', 'slow down')), true);
  t.equal(isRetryable(new ConveyorError('NotLeader', 'elsewhere')), true);
  t.equal(isRetryable(new ConveyorError('RequestTimeout', 'no answer')), true);
  t.equal(isRetryable(new ConveyorError('InvalidParameterValue', 'bad')), false);
  t.equal(isRetryable(new ConveyorError('CircuitOpen', 'fail fast')), false, 'an open circuit is not retried in a loop');
  t.equal(isRetryable(new Error('not ours')), false);
});

t.test('the breaker opens after repeated failures, fails fast, probes half-open and closes', async (t) => {
  const clock = new FakeClock(0);
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1_000 }, clock.now, (s) => changes.push(s));
  t.equal(breaker.state, 'closed');
  breaker.recordFailure();
  breaker.recordFailure();
  breaker.recordSuccess();
  breaker.recordFailure();
  breaker.recordFailure();
  t.equal(breaker.state, 'closed', 'only consecutive failures count');
  breaker.recordFailure();
  t.equal(breaker.state, 'open', 'the third failure in a row opens it');
  t.equal(breaker.tryAcquire(), false, 'open: refused at once');
  clock.advance(999);
  t.equal(breaker.tryAcquire(), false, 'still open just before the wait ends');
  clock.advance(1);
  t.equal(breaker.state, 'half-open');
  t.equal(breaker.tryAcquire(), true, 'half-open lets one probe through');
  t.equal(breaker.tryAcquire(), false, 'and only one');
  breaker.recordFailure();
  t.equal(breaker.state, 'open', 'a failed probe opens it again');
  clock.advance(1_000);
  t.equal(breaker.tryAcquire(), true, 'the next probe');
  breaker.recordSuccess();
  t.equal(breaker.state, 'closed', 'a successful probe closes it');
  t.equal(breaker.tryAcquire(), true);
  t.same(changes, ['open', 'half-open', 'open', 'half-open', 'closed'], 'every transition is reported');
  clock.advance(5_000);
  breaker.recordFailure();
  breaker.recordFailure();
  breaker.recordFailure();
  clock.advance(1_000);
  t.equal(breaker.tryAcquire(), true);
  breaker.releaseProbe();
  t.equal(breaker.tryAcquire(), true, 'a probe abandoned by its caller frees the slot for another');
});
