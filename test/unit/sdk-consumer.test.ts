/**
 * The consumer's logic on a fake clock over an in-memory queue: concurrency and prefetch bounds,
 * FIFO group order, heartbeats, failures (backoff visibility, releasing a failed group's later
 * messages) and a graceful stop.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import t from 'tap';
import { Consumer, sleep, type ConsumeOptions, type ConsumerQueue, type MessageHandler, type ReceivedMessage } from '@conveyor/client-sdk';
import { FakeTimers, settle } from '../support/fake-timers.ts';

/** A queue in memory with SQS's FIFO rule: a group with a message in flight delivers nothing more. */
class MemoryQueue implements ConsumerQueue {
  readonly visible: ReceivedMessage[] = [];
  readonly inflight = new Set<string>();
  readonly deleted: string[] = [];
  readonly visibility: Array<{ handle: string; seconds: number; at: number }> = [];
  maxReceived = 0;

  constructor(readonly name: string, readonly fifo: boolean, private readonly timers: FakeTimers) {}

  add(count: number, group = (_i: number): string | undefined => undefined): void {
    for (let i = 0; i < count; i++) {
      const g = group(i);
      this.visible.push({ messageId: `m${i}`, receiptHandle: `h${i}`, body: `b${i}`, md5OfBody: '', systemAttributes: { SentTimestamp: '0', ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '0', ...(g !== undefined && { MessageGroupId: g }) } });
    }
  }

  async receive(options: { max: number; waitSeconds: number; signal: AbortSignal }): Promise<ReceivedMessage[]> {
    this.maxReceived = Math.max(this.maxReceived, options.max);
    const blocked = new Set([...this.inflight].map((h) => this.groupOf(h)));
    const out: ReceivedMessage[] = [];
    for (const m of [...this.visible]) {
      if (out.length >= options.max) break;
      const g = m.systemAttributes.MessageGroupId;
      if (this.fifo && g !== undefined && blocked.has(g) && !out.some((o) => o.systemAttributes.MessageGroupId === g)) continue;
      this.visible.splice(this.visible.indexOf(m), 1);
      this.inflight.add(m.receiptHandle);
      this.groups.set(m.receiptHandle, m);
      out.push(m);
    }
    if (out.length === 0) await sleep(this.timers, 1_000, options.signal);
    return out;
  }

  readonly groups = new Map<string, ReceivedMessage>();
  groupOf(handle: string): string | undefined {
    return this.groups.get(handle)?.systemAttributes.MessageGroupId;
  }

  async delete(message: ReceivedMessage): Promise<void> {
    this.inflight.delete(message.receiptHandle);
    this.deleted.push(message.receiptHandle);
  }

  async changeVisibility(message: ReceivedMessage, seconds: number): Promise<void> {
    this.visibility.push({ handle: message.receiptHandle, seconds, at: this.timers.nowMs });
    if (seconds === 0 && this.inflight.delete(message.receiptHandle)) this.visible.unshift(message);
  }

  async flush(): Promise<void> {}
}

function start(queue: MemoryQueue, timers: FakeTimers, handler: MessageHandler, options: ConsumeOptions): Consumer {
  return new Consumer(queue, handler, { waitSeconds: 1, ...options }, timers, () => 0.5);
}

t.test('handlers run in parallel up to the concurrency, with a prefetch buffer no larger', async (t) => {
  const timers = new FakeTimers(0);
  const queue = new MemoryQueue('q', false, timers);
  queue.add(40);
  let running = 0;
  let peak = 0;
  let peakBuffered = 0;
  const consumer = start(queue, timers, async () => {
    running += 1;
    peak = Math.max(peak, running);
    peakBuffered = Math.max(peakBuffered, consumer.stats.buffered);
    await sleep(timers, 100);
    running -= 1;
  }, { concurrency: 4, batchSize: 3 });
  for (let i = 0; i < 20 && queue.deleted.length < 40; i++) await timers.advanceAsync(100);
  t.equal(queue.deleted.length, 40, 'every message handled and deleted');
  t.equal(peak, 4, 'exactly the concurrency in parallel');
  t.ok(peakBuffered <= 4, `the buffer stays within the concurrency (peak ${peakBuffered})`);
  t.ok(queue.maxReceived <= 3, 'receives ask for at most batchSize');
  const stopping = consumer.stop();
  await timers.advanceAsync(2_000);
  await stopping;
  t.match(consumer.stats, { received: 40, processed: 40, failed: 0, running: 0 });
});

t.test('FIFO: never two messages of a group at once, and each group in order', async (t) => {
  const timers = new FakeTimers(0);
  const queue = new MemoryQueue('q.fifo', true, timers);
  queue.add(30, (i) => `g${i % 3}`);
  const active = new Set<string>();
  const order = new Map<string, number[]>();
  let overlap = false;
  const consumer = start(queue, timers, async (m) => {
    const g = m.systemAttributes.MessageGroupId!;
    if (active.has(g)) overlap = true;
    active.add(g);
    order.set(g, [...(order.get(g) ?? []), Number(m.messageId.slice(1))]);
    await sleep(timers, 10 + (Number(m.messageId.slice(1)) % 4) * 7);
    active.delete(g);
  }, { concurrency: 8, batchSize: 10 });
  for (let i = 0; i < 100 && queue.deleted.length < 30; i++) await timers.advanceAsync(50);
  t.equal(queue.deleted.length, 30);
  t.equal(overlap, false, 'no group had two handlers at once');
  for (const [g, seen] of order) t.same(seen, [...seen].sort((a, b) => a - b), `group ${g} in order`);
  const stopping = consumer.stop();
  await timers.advanceAsync(2_000);
  await stopping;
});

t.test('a long handler keeps its message invisible: the heartbeat extends it', async (t) => {
  const timers = new FakeTimers(0);
  const queue = new MemoryQueue('q', false, timers);
  queue.add(1);
  const consumer = start(queue, timers, () => sleep(timers, 25_000), { concurrency: 1, visibilityTimeout: 9 });
  await timers.advanceAsync(26_000);
  const beats = queue.visibility.filter((v) => v.handle === 'h0');
  t.ok(beats.length >= 7 && beats.length <= 9, `extended about every 3 s (${beats.length} times in 25 s)`);
  t.ok(beats.every((b) => b.seconds === 9), 'each time by the visibility timeout');
  t.ok(beats.every((b, i) => i === 0 || b.at - beats[i - 1]!.at <= 3_000), 'never more than a third of the timeout apart');
  t.same(queue.deleted, ['h0'], 'deleted once done');
  const stopping = consumer.stop();
  await timers.advanceAsync(2_000);
  await stopping;
});

t.test('a failure sets the backoff visibility; a failed FIFO group hands back its later messages', async (t) => {
  const timers = new FakeTimers(0);
  const queue = new MemoryQueue('q.fifo', true, timers);
  queue.add(3, () => 'g');
  const errors: string[] = [];
  const consumer = start(queue, timers, async (m) => {
    if (m.messageId === 'm0') throw new Error('boom');
  }, { concurrency: 4, failureVisibility: (count) => 5 * count, onError: (e, stage) => errors.push(`${stage}:${(e as Error).message}`) });
  await timers.advanceAsync(10);
  t.same(errors, ['handler:boom'], 'the error is reported with its stage');
  t.same(queue.visibility.filter((v) => v.handle === 'h0').map((v) => v.seconds), [5], 'the failed message gets the backoff visibility');
  t.same(queue.visibility.filter((v) => v.handle !== 'h0').map((v) => [v.handle, v.seconds]), [['h1', 0], ['h2', 0]], 'its group-mates are released, not handled out of order');
  t.same(queue.deleted, [], 'nothing of the group was handled after the failure');
  t.equal(consumer.stats.failed, 1);
  const stopping = consumer.stop();
  await timers.advanceAsync(2_000);
  await stopping;
});

t.test('an aborted signal stops polling, releases the buffer and waits for running handlers', async (t) => {
  const timers = new FakeTimers(0);
  const queue = new MemoryQueue('q', false, timers);
  queue.add(6);
  const abort = new AbortController();
  let finished = 0;
  const consumer = start(queue, timers, async () => {
    await sleep(timers, 1_000);
    finished += 1;
  }, { concurrency: 2, batchSize: 2, signal: abort.signal });
  await timers.advanceAsync(10);
  t.equal(consumer.stats.running, 2);
  abort.abort();
  let done = false;
  void consumer.done.then(() => (done = true));
  await settle();
  t.equal(done, false, 'running handlers are awaited');
  await timers.advanceAsync(1_000);
  await consumer.done;
  t.equal(finished, 2, 'both running handlers finished');
  t.same(queue.deleted.length, 2, 'and their messages were deleted');
  const released = queue.visibility.filter((v) => v.seconds === 0).map((v) => v.handle);
  t.equal(released.length, consumer.stats.received - 2, 'every buffered message was handed back');
  t.equal(queue.inflight.size, 0, 'nothing is left invisible');
});

t.test('deletes waiting for their answer keep no message alive; a failed one is reported by id and receipt handle', async (t) => {
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const timers = new FakeTimers(0);
  const pendingDeletes: Array<{ handle: string; fail: (error: Error) => void }> = [];
  let next = 0;
  // A queue that hands out fresh messages and holds only the receipt handles of deletes that never answer.
  const queue: ConsumerQueue = {
    name: 'q',
    fifo: false,
    async receive(options) {
      if (next >= 20) {
        await sleep(timers, 1_000, options.signal);
        return [];
      }
      return Array.from({ length: Math.min(options.max, 20 - next) }, () => {
        const i = next++;
        return { messageId: `m${i}`, receiptHandle: `h${i}`, body: 'x'.repeat(100_000), md5OfBody: '', systemAttributes: { SentTimestamp: '0', ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '0' } };
      });
    },
    delete(message) {
      const handle = message.receiptHandle;
      return new Promise<void>((_resolve, reject) => pendingDeletes.push({ handle, fail: reject }));
    },
    async changeVisibility() {},
    async flush() {},
  };
  const refs: Array<WeakRef<ReceivedMessage>> = [];
  const errors: Array<{ stage: string; message: unknown }> = [];
  const consumer = new Consumer(queue, (m) => void refs.push(new WeakRef(m)), { concurrency: 10, batchSize: 10, waitSeconds: 1, onError: (_e, stage, message) => errors.push({ stage, message }) }, timers, () => 0.5);
  await timers.advanceAsync(10);
  t.equal(refs.length, 20, 'every message was handled');
  t.equal(pendingDeletes.length, 20, 'and every delete is still waiting');
  await new Promise((r) => setImmediate(r)); // WeakRef targets stay alive until the end of the job that made them
  collect();
  t.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'no handled message (nor its body) is kept by its waiting delete');
  pendingDeletes[3]!.fail(new Error('boom'));
  await settle();
  t.same(errors, [{ stage: 'delete', message: { messageId: 'm3', receiptHandle: 'h3' } }]);
  for (const d of pendingDeletes.slice(4)) d.fail(new Error('stopped'));
  for (const d of pendingDeletes.slice(0, 3)) d.fail(new Error('stopped'));
  await consumer.stop();
});
