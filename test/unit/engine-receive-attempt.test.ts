/** FIFO ReceiveRequestAttemptId: a retried receive gets the same messages and handles back. */
import t from 'tap';
import { openEngineFor, rejection } from '../support/index.ts';

t.test('a retried FIFO receive with the same attempt id answers the same messages and handles', async (t) => {
  const { engine, clock } = await openEngineFor(t);
  await engine.createQueue('jobs.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '30' });
  await engine.sendMessageBatch('jobs.fifo', ['a', 'b', 'c'].map((b, i) => ({ id: `e${i}`, body: b, groupId: 'g' })));
  const first = await engine.receiveMessage('jobs.fifo', { maxMessages: 2, attemptId: 'try-1' });
  t.same(first.map((m) => m.body), ['a', 'b'], 'the first attempt receives the head of the group');
  const retry = await engine.receiveMessage('jobs.fifo', { maxMessages: 2, attemptId: 'try-1' });
  t.same(retry.map((m) => m.receiptHandle), first.map((m) => m.receiptHandle), 'the retry gets the same handles');
  t.same((await engine.receiveMessage('jobs.fifo', { maxMessages: 10, attemptId: 'try-2' })).length, 0, 'another attempt finds the group locked');
  await engine.deleteMessage('jobs.fifo', first[0]!.receiptHandle);
  t.same((await engine.receiveMessage('jobs.fifo', { attemptId: 'try-1' })).map((m) => m.body), ['b'], 'a deleted message is no longer part of the answer');
  clock.advance(31_000);
  const afterTimeout = await engine.receiveMessage('jobs.fifo', { maxMessages: 10, attemptId: 'try-1' });
  t.same(afterTimeout.map((m) => m.body), ['b', 'c'], 'once the visibility ended the attempt receives anew');
  t.not(afterTimeout[0]!.receiptHandle, first[1]!.receiptHandle, 'with new handles');
  t.equal((await rejection(engine.receiveMessage('jobs.fifo', { attemptId: 'bad id with spaces' }))).code, 'InvalidParameterValue', 'a malformed attempt id is refused');
});

t.test('standard queues ignore the attempt id', async (t) => {
  const { engine } = await openEngineFor(t);
  await engine.createQueue('plain');
  await engine.sendMessageBatch('plain', [{ id: 'a', body: 'one' }, { id: 'b', body: 'two' }]);
  const first = await engine.receiveMessage('plain', { attemptId: 'x' });
  const second = await engine.receiveMessage('plain', { attemptId: 'x' });
  t.not(second[0]?.messageId, first[0]?.messageId, 'each receive takes another message');
});
