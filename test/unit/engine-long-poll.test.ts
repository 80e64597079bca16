/**
 * Long polling (SQS-REFERENCE.md §1.6): a receive with WaitTimeSeconds returns as soon as a message
 * is available, or empty when the wait ends. Long polls wait on real timers and compute their
 * deadline from the engine's clock, so these engines run on the real clock. Every wait here is
 * ended by an event the test causes; bounds on elapsed time are loose on purpose.
 */
import t from 'tap';
import { setTimeout as delay } from 'node:timers/promises';
import type { EngineOptions, QueueEngine } from '@conveyor/backend-node';
import { openTestEngine } from '../support/index.ts';

async function open(t: { teardown(fn: () => unknown): void }, options: Partial<EngineOptions> = {}): Promise<QueueEngine> {
  const { engine } = await openTestEngine({ clock: Date.now, ...options });
  t.teardown(() => engine.close());
  return engine;
}

/** Runs `receive`, returning what it returned and how long it took in ms. */
async function timed<T>(receive: Promise<T>): Promise<{ value: T; elapsedMs: number }> {
  const start = performance.now();
  const value = await receive;
  return { value, elapsedMs: performance.now() - start };
}

t.test('a long poll returns as soon as a message is sent', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  const poll = timed(engine.receiveMessage('q', { waitTimeSeconds: 10 }));
  await delay(20);
  await engine.sendMessage('q', { body: 'hello' });
  const { value, elapsedMs } = await poll;
  t.same(value.map((m) => m.body), ['hello']);
  t.ok(elapsedMs < 5_000, `returned after ${Math.round(elapsedMs)} ms, well before the 10 s wait`);
});

t.test('a long poll returns empty when the wait ends without a message', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  const { value, elapsedMs } = await timed(engine.receiveMessage('q', { waitTimeSeconds: 1 }));
  t.same(value, []);
  t.ok(elapsedMs >= 950, `waited ${Math.round(elapsedMs)} ms of 1 s`);
});

t.test('the queue ReceiveMessageWaitTimeSeconds is the default wait', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q', { ReceiveMessageWaitTimeSeconds: '1' });
  const { value, elapsedMs } = await timed(engine.receiveMessage('q'));
  t.same(value, []);
  t.ok(elapsedMs >= 950, `waited ${Math.round(elapsedMs)} ms`);
  const short = await timed(engine.receiveMessage('q', { waitTimeSeconds: 0 }));
  t.ok(short.elapsedMs < 900, 'WaitTimeSeconds 0 on the call makes a short poll');
});

t.test('an AbortSignal ends a long poll early', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  const controller = new AbortController();
  const poll = timed(engine.receiveMessage('q', { waitTimeSeconds: 20, signal: controller.signal }));
  await delay(20);
  controller.abort();
  const { value, elapsedMs } = await poll;
  t.same(value, []);
  t.ok(elapsedMs < 5_000, `ended after ${Math.round(elapsedMs)} ms`);
});

t.test('an already aborted signal makes a short poll', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const got = await engine.receiveMessage('q', { waitTimeSeconds: 20, signal: AbortSignal.abort() });
  t.same(got.map((m) => m.body), ['x'], 'still returns what is there');
});

t.test('a long poll wakes when a delayed message becomes visible', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'soon', delaySeconds: 1 });
  const { value, elapsedMs } = await timed(engine.receiveMessage('q', { waitTimeSeconds: 10 }));
  t.same(value.map((m) => m.body), ['soon']);
  t.ok(elapsedMs >= 900 && elapsedMs < 5_000, `returned after ${Math.round(elapsedMs)} ms`);
});

t.test('a long poll wakes when ChangeMessageVisibility makes a message visible', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  const poll = timed(engine.receiveMessage('q', { waitTimeSeconds: 10 }));
  await delay(20);
  await engine.changeMessageVisibility('q', msg!.receiptHandle, 0);
  const { value, elapsedMs } = await poll;
  t.same(value.map((m) => m.messageId), [msg!.messageId]);
  t.ok(elapsedMs < 5_000, `returned after ${Math.round(elapsedMs)} ms`);
});

t.test('a FIFO long poll wakes when deleting the in-flight message unlocks its group', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  await engine.sendMessage('q.fifo', { body: 'first', groupId: 'g' });
  await engine.sendMessage('q.fifo', { body: 'second', groupId: 'g' });
  const [first] = await engine.receiveMessage('q.fifo');
  t.equal(first?.body, 'first');

  const poll = timed(engine.receiveMessage('q.fifo', { waitTimeSeconds: 10 }));
  await delay(20);
  await engine.deleteMessage('q.fifo', first!.receiptHandle);
  const { value, elapsedMs } = await poll;
  t.same(value.map((m) => m.body), ['second']);
  t.ok(elapsedMs < 5_000, `returned after ${Math.round(elapsedMs)} ms, not at the end of the wait`);
});

t.test('in-flight limit: a long poll returns empty instead of OverLimit', async (t) => {
  const engine = await open(t, { stateMachine: { maxInFlight: 3 } });
  await engine.createQueue('q');
  for (let i = 0; i < 5; i++) await engine.sendMessage('q', { body: `m${i}` });
  t.equal((await engine.receiveMessage('q', { maxMessages: 10 })).length, 3);
  const { value, elapsedMs } = await timed(engine.receiveMessage('q', { maxMessages: 10, waitTimeSeconds: 1 }));
  t.same(value, []);
  t.ok(elapsedMs >= 950, `waited ${Math.round(elapsedMs)} ms`);
});

t.test('in-flight limit: a long poll wakes when a delete makes room', async (t) => {
  const engine = await open(t, { stateMachine: { maxInFlight: 3 } });
  await engine.createQueue('q');
  for (let i = 0; i < 5; i++) await engine.sendMessage('q', { body: `m${i}` });
  const received = await engine.receiveMessage('q', { maxMessages: 10 });
  const poll = timed(engine.receiveMessage('q', { maxMessages: 10, waitTimeSeconds: 10 }));
  await delay(20);
  await engine.deleteMessage('q', received[0]!.receiptHandle);
  const { value, elapsedMs } = await poll;
  t.equal(value.length, 1, 'one message: room for one');
  t.ok(elapsedMs < 5_000, `returned after ${Math.round(elapsedMs)} ms`);
});

t.test('a long poll on a queue that is deleted meanwhile returns empty', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  const poll = timed(engine.receiveMessage('q', { waitTimeSeconds: 10 }));
  await delay(20);
  await engine.deleteQueue('q');
  const { value, elapsedMs } = await poll;
  t.same(value, []);
  t.ok(elapsedMs < 5_000, `returned after ${Math.round(elapsedMs)} ms`);
});

t.test('closing the engine ends a long poll', async (t) => {
  const { engine } = await openTestEngine({ clock: Date.now });
  await engine.createQueue('q');
  const poll = timed(engine.receiveMessage('q', { waitTimeSeconds: 10 }));
  await delay(20);
  await engine.close();
  const { value, elapsedMs } = await poll;
  t.same(value, []);
  t.ok(elapsedMs < 5_000, `returned after ${Math.round(elapsedMs)} ms`);
});

t.test('concurrent long polls each get a different message', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  const polls = [1, 2, 3].map(() => engine.receiveMessage('q', { waitTimeSeconds: 10 }));
  await delay(20);
  await engine.sendMessageBatch('q', [{ id: 'a', body: 'a' }, { id: 'b', body: 'b' }, { id: 'c', body: 'c' }]);
  const got = await Promise.all(polls);
  t.same(got.flat().map((m) => m.body).sort(), ['a', 'b', 'c'], 'every message delivered exactly once');
});

t.test('a send applied while a long poll is between its empty look and its wait still wakes it', async (t) => {
  const engine = await open(t);
  await engine.createQueue('q');
  // The send lands after 0…7 microtask turns of the poll: some of them fall inside the poll's
  // commit barrier, after it looked and before it listened.
  for (let turns = 0; turns < 8; turns++) {
    const poll = timed(engine.receiveMessage('q', { waitTimeSeconds: 3 }));
    for (let i = 0; i < turns; i++) await Promise.resolve();
    await engine.sendMessage('q', { body: `m${turns}` });
    const { value, elapsedMs } = await poll;
    t.same(value.map((m) => m.body), [`m${turns}`], `sent after ${turns} turns: received`);
    t.ok(elapsedMs < 1_500, `sent after ${turns} turns: woke after ${Math.round(elapsedMs)} ms, not at the end of the wait`);
    await engine.deleteMessage('q', value[0]!.receiptHandle);
  }
});
