/**
 * What an engine reopened over the same store keeps: messages and their visibility, receipt
 * handles, FIFO group locks, the dedup window and the purge interval. The second engine shares the
 * first one's clock and draws message ids from another range, as a real restart would.
 */
import t from 'tap';

import { MemoryQueueStore, type QueueEngine } from '@conveyor/backend-node';
import { FakeClock, openTestEngine, sequentialIds, rejection } from '../support/index.ts';

interface Restartable {
  clock: FakeClock;
  engine: QueueEngine;
  restart(): Promise<QueueEngine>;
}

async function open(t: { teardown(fn: () => unknown): void }): Promise<Restartable> {
  const clock = new FakeClock();
  const store = new MemoryQueueStore();
  let generation = 0;
  const start = async (): Promise<QueueEngine> => {
    const { engine } = await openTestEngine({ store, clock: clock.now, seed: generation + 1, newMessageId: sequentialIds(`00000000-0000-4000-${(8000 + generation++).toString()}`) });
    t.teardown(() => engine.close());
    return engine;
  };
  const state: Restartable = {
    clock,
    engine: await start(),
    restart: async () => {
      await state.engine.close();
      state.engine = await start();
      return state.engine;
    },
  };
  return state;
}

t.test('messages, visibility and receipt handles survive a restart', async (t) => {
  const r = await open(t);
  let engine = r.engine;
  await engine.createQueue('q', { VisibilityTimeout: '30' });
  await engine.sendMessage('q', { body: 'in flight' });
  const [inFlight] = await engine.receiveMessage('q');
  await engine.sendMessage('q', { body: 'visible' });
  await engine.sendMessage('q', { body: 'delayed', delaySeconds: 60 });

  engine = await r.restart();
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 1, delayed: 1 });
  const [visible, ...none] = await engine.receiveMessage('q', { maxMessages: 10 });
  t.equal(visible?.body, 'visible');
  t.same(none, []);
  await engine.deleteMessage('q', visible!.receiptHandle);
  await engine.deleteMessage('q', inFlight!.receiptHandle);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 1 }, 'the handle from before the restart deleted its message');

  r.clock.advance(60_000);
  const [delayed] = await engine.receiveMessage('q', { maxMessages: 10 });
  t.equal(delayed?.body, 'delayed');
  t.equal(delayed?.systemAttributes.ApproximateReceiveCount, '1');
});

t.test('a FIFO group lock and the dedup window survive a restart', async (t) => {
  const r = await open(t);
  let engine = r.engine;
  await engine.createQueue('q.fifo', { FifoQueue: 'true' });
  const original = await engine.sendMessage('q.fifo', { body: 'first', groupId: 'g', dedupId: 'd1' });
  await engine.sendMessage('q.fifo', { body: 'second', groupId: 'g', dedupId: 'd2' });
  const [first] = await engine.receiveMessage('q.fifo');

  engine = await r.restart();
  t.same(await engine.receiveMessage('q.fifo', { maxMessages: 10 }), [], 'the group is still locked');
  const dup = await engine.sendMessage('q.fifo', { body: 'first', groupId: 'g', dedupId: 'd1' });
  t.equal(dup.messageId, original.messageId, 'still a duplicate');
  t.equal(dup.sequenceNumber, original.sequenceNumber);
  const next = await engine.sendMessage('q.fifo', { body: 'third', groupId: 'g', dedupId: 'd3' });
  t.ok(BigInt(next.sequenceNumber!) > BigInt(original.sequenceNumber!), 'sequence numbers keep increasing');

  await engine.deleteMessage('q.fifo', first!.receiptHandle);
  t.same((await engine.receiveMessage('q.fifo', { maxMessages: 10 })).map((m) => m.body), ['second', 'third']);
});

t.test('the purge interval survives a restart', async (t) => {
  const r = await open(t);
  await r.engine.createQueue('q');
  await r.engine.purgeQueue('q');
  const engine = await r.restart();
  t.equal((await rejection(engine.purgeQueue('q'))).code, 'PurgeQueueInProgress');
  r.clock.advance(60_000);
  await engine.purgeQueue('q');
});

t.test('a queue deleted before a restart and recreated after it refuses the old handles', async (t) => {
  const r = await open(t);
  let engine = r.engine;
  await engine.createQueue('keep');
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'old' });
  const [old] = await engine.receiveMessage('q');
  await engine.deleteQueue('q');

  engine = await r.restart();
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'new' });
  await engine.receiveMessage('q');
  t.equal((await rejection(engine.deleteMessage('q', old!.receiptHandle))).code, 'ReceiptHandleIsInvalid');
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 });
});
