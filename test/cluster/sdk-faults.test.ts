/**
 * The SDK under faults, against a real stack: a frontend killed mid-batch (the client fails over
 * to the other), the backend leader killed mid-batch (the client retries until the new leader
 * answers) — every acknowledged message is delivered, duplicates are counted, none is lost — and
 * a circuit breaker that opens against a dead endpoint and closes when it comes back.
 */
import t, { type Test } from 'tap';
import { Conveyor, type BreakerState, type Queue } from '@conveyor/client-sdk';
import { startFrontend, startStack } from '../support/index.ts';
import { TEST_CREDENTIALS } from '../support/credentials.ts';

const MESSAGES = 3_000;
const IN_FLIGHT = 200;

/** Sends MESSAGES messages, at most IN_FLIGHT unanswered, calling `fault` once a third are acknowledged. */
async function produce(queue: Queue, fault: () => Promise<void>): Promise<{ acked: Set<number>; failed: unknown[]; ackedBeforeFault: number }> {
  const acked = new Set<number>();
  let ackedBeforeFault = -1;
  const failed: unknown[] = [];
  let faulted: Promise<void> | undefined;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < MESSAGES) {
      const i = next++;
      try {
        await queue.send(`${i}:`.padEnd(200, '.'));
        acked.add(i);
      } catch (error) {
        failed.push(error);
      }
      if (!faulted && acked.size >= MESSAGES / 3) {
        faulted = fault().then(() => void (ackedBeforeFault = acked.size));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  await faulted;
  return { acked, failed, ackedBeforeFault };
}

/** Consumes until every acknowledged index was seen (or 30 s); returns how often each was delivered. */
async function drain(queue: Queue, acked: Set<number>): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  const consumer = queue.consume((m) => {
    const i = Number(m.body.slice(0, m.body.indexOf(':')));
    seen.set(i, (seen.get(i) ?? 0) + 1);
  }, { concurrency: 50, waitSeconds: 1 });
  const deadline = Date.now() + 30_000;
  while ([...acked].some((i) => !seen.has(i)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  // A little longer, so duplicates still queued are counted too.
  await new Promise((r) => setTimeout(r, 1_000));
  await consumer.stop();
  return seen;
}

function report(t: Test, run: { acked: Set<number>; failed: unknown[]; ackedBeforeFault: number }, seen: Map<number, number>, retries: number): void {
  const { acked, failed, ackedBeforeFault } = run;
  const lost = [...acked].filter((i) => !seen.has(i));
  const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
  t.ok(ackedBeforeFault >= 0 && ackedBeforeFault < MESSAGES, `the fault struck mid-stream (${ackedBeforeFault} of ${MESSAGES} acknowledged by then)`);
  t.same(failed, [], 'every send was acknowledged (retries hid the fault)');
  t.equal(acked.size, MESSAGES);
  t.same(lost, [], 'no acknowledged message was lost');
  t.comment(`${MESSAGES} sent, ${seen.size} distinct received, ${duplicates} duplicate deliveries, ${retries} retries`);
}

t.test('the SDK under faults', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());

  t.test('a frontend killed mid-batch: the client fails over to the other', async (t) => {
    const doomed = await startFrontend(stack.metadata.url);
    t.teardown(() => doomed.stop());
    const changes: string[] = [];
    const conveyor = new Conveyor({ endpoint: [doomed.url, stack.endpoint], credentials: TEST_CREDENTIALS, onBreakerChange: (url, state) => changes.push(`${url === doomed.url ? 'doomed' : 'other'}:${state}`) });
    t.teardown(() => conveyor.close());
    const queue = await conveyor.createQueue('failover');
    const run = await produce(queue, async () => {
      process.kill(doomed.pid, 'SIGKILL');
    });
    const seen = await drain(queue, run.acked);
    report(t, run, seen, conveyor.retries);
    t.ok(conveyor.retries > 0, 'requests in flight at the dead frontend were retried at the other');
    t.equal(conveyor.breakerStates()[stack.endpoint], 'closed', 'the surviving endpoint stayed closed');
    t.notOk(changes.includes('other:open'), 'and its breaker never opened');
  });

  t.test('the backend leader killed mid-batch: retries deliver every acknowledged message', async (t) => {
    const cluster = stack.clusters[0]!;
    const conveyor = new Conveyor({ endpoint: stack.endpoint, credentials: TEST_CREDENTIALS });
    t.teardown(() => conveyor.close());
    const queue = await conveyor.createQueue('leader-killed');
    let killed = '';
    const run = await produce(queue, async () => {
      const { id } = await cluster.waitForLeader();
      killed = id;
      await cluster.kill(id);
    });
    const seen = await drain(queue, run.acked);
    report(t, run, seen, conveyor.retries);
    await cluster.restart(killed);
    await cluster.waitForLeader();
  });

  t.test('the breaker opens against a dead endpoint, fails fast, and closes when it returns', async (t) => {
    let frontend = await startFrontend(stack.metadata.url);
    const port = Number(new URL(frontend.url).port);
    t.teardown(() => frontend.stop());
    const states: BreakerState[] = [];
    const conveyor = new Conveyor({
      endpoint: frontend.url,
      credentials: TEST_CREDENTIALS,
      retry: { maxAttempts: 1 },
      circuitBreaker: { failureThreshold: 3, openMs: 500 },
      onBreakerChange: (_url, state) => states.push(state),
    });
    t.teardown(() => conveyor.close());
    t.same(await conveyor.listQueues('nothing-'), [], 'it answers while up');
    process.kill(frontend.pid, 'SIGKILL');
    await frontend.stop();
    for (let i = 0; i < 3; i++) await t.rejects(conveyor.listQueues(), { code: 'ServiceUnavailable', retryable: true }, `failure ${i + 1}: connection refused`);
    t.equal(conveyor.breakerStates()[frontend.url], 'open', 'three failures in a row opened the breaker');
    const started = performance.now();
    await t.rejects(conveyor.listQueues(), { code: 'CircuitOpen' }, 'while open, calls fail fast');
    t.ok(performance.now() - started < 50, 'without trying the network');
    await new Promise((r) => setTimeout(r, 600));
    await t.rejects(conveyor.listQueues(), { code: 'ServiceUnavailable' }, 'after the wait, one probe goes and fails');
    t.equal(conveyor.breakerStates()[frontend.url], 'open', 'a failed probe opens it again');
    frontend = await startFrontend(stack.metadata.url, [], { port });
    await new Promise((r) => setTimeout(r, 600));
    t.same(await conveyor.listQueues('nothing-'), [], 'the probe reaches the restarted frontend');
    t.equal(conveyor.breakerStates()[frontend.url], 'closed', 'and the breaker closes');
    t.same(states, ['open', 'half-open', 'open', 'half-open', 'closed'], 'every transition, in order');
  });
});
