/**
 * Dead-letter redrive (SQS-REFERENCE.md §1.6 "DLQ"): with maxReceiveCount N a message is delivered
 * exactly N times and moves to the dead-letter queue on the next receive.
 */
import t from 'tap';
import { type MessageAttributes } from '@conveyor/client-sdk/wire';

import { openEngineFor, rejection } from '../support/index.ts';

const open = openEngineFor;

function redrivePolicy(arn: string, maxReceiveCount: number): string {
  return JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount });
}

t.test('a message is delivered maxReceiveCount times, then moves to the DLQ on the next receive', async (t) => {
  const { engine, clock } = await open(t);
  const dlq = await engine.createQueue('dlq');
  const source = await engine.createQueue('source', { VisibilityTimeout: '10', RedrivePolicy: redrivePolicy(dlq.arn, 3) });
  const attributes: MessageAttributes = { kind: { DataType: 'String', StringValue: 'poison' } };
  const sent = await engine.sendMessage('source', { body: 'poison pill', attributes });

  for (let n = 1; n <= 3; n++) {
    const [msg] = await engine.receiveMessage('source');
    t.equal(msg?.messageId, sent.messageId, `delivery ${n}`);
    t.equal(msg?.systemAttributes.ApproximateReceiveCount, String(n));
    t.equal(msg?.systemAttributes.DeadLetterQueueSourceArn, undefined);
    clock.advance(10_000);
  }
  t.same((await engine.describeQueue('dlq')).counts, { visible: 0, inflight: 0, delayed: 0 }, 'not moved before the next receive');

  t.same(await engine.receiveMessage('source', { maxMessages: 10 }), [], 'the 4th receive moves it instead of delivering it');
  t.same((await engine.describeQueue('source')).counts, { visible: 0, inflight: 0, delayed: 0 });
  t.same((await engine.describeQueue('dlq')).counts, { visible: 1, inflight: 0, delayed: 0 });

  const [dead] = await engine.receiveMessage('dlq');
  t.equal(dead?.messageId, sent.messageId, 'keeps its MessageId');
  t.equal(dead?.body, 'poison pill', 'keeps its body');
  t.same(dead?.attributes, attributes, 'keeps its attributes');
  t.equal(dead?.md5OfBody, sent.md5OfBody);
  t.equal(dead?.md5OfMessageAttributes, sent.md5OfAttributes);
  t.equal(dead?.systemAttributes.DeadLetterQueueSourceArn, source.arn);
  t.equal(dead?.systemAttributes.SentTimestamp, String(clock.now() - 30_000), 'keeps its SentTimestamp');

  await engine.deleteMessage('dlq', dead!.receiptHandle);
  t.same((await engine.describeQueue('dlq')).counts, { visible: 0, inflight: 0, delayed: 0 });
});

t.test('maxReceiveCount 1: one delivery, then the DLQ', async (t) => {
  const { engine } = await open(t);
  const dlq = await engine.createQueue('dlq');
  await engine.createQueue('source', { RedrivePolicy: redrivePolicy(dlq.arn, 1) });
  await engine.sendMessage('source', { body: 'x' });
  t.equal((await engine.receiveMessage('source', { visibilityTimeoutSeconds: 0 })).length, 1);
  t.same(await engine.receiveMessage('source', { visibilityTimeoutSeconds: 0 }), []);
  t.equal((await engine.describeQueue('dlq')).counts.visible, 1);
});

t.test('a receive that moves a message still delivers the healthy ones', async (t) => {
  const { engine } = await open(t);
  const dlq = await engine.createQueue('dlq');
  await engine.createQueue('source', { RedrivePolicy: redrivePolicy(dlq.arn, 1) });
  await engine.sendMessage('source', { body: 'bad' });
  await engine.receiveMessage('source', { visibilityTimeoutSeconds: 0 });
  await engine.sendMessage('source', { body: 'good' });
  const got = await engine.receiveMessage('source', { maxMessages: 10 });
  t.same(got.map((m) => m.body), ['good']);
  t.same((await engine.receiveMessage('dlq')).map((m) => m.body), ['bad']);
});

t.test('a message deleted in time never reaches the DLQ', async (t) => {
  const { engine } = await open(t);
  const dlq = await engine.createQueue('dlq');
  await engine.createQueue('source', { RedrivePolicy: redrivePolicy(dlq.arn, 2) });
  await engine.sendMessage('source', { body: 'x' });
  await engine.receiveMessage('source', { visibilityTimeoutSeconds: 0 });
  const [second] = await engine.receiveMessage('source');
  await engine.deleteMessage('source', second!.receiptHandle);
  t.same(await engine.receiveMessage('source', { maxMessages: 10 }), []);
  t.same((await engine.describeQueue('dlq')).counts, { visible: 0, inflight: 0, delayed: 0 });
});

t.test('removing the RedrivePolicy stops redrive', async (t) => {
  const { engine } = await open(t);
  const dlq = await engine.createQueue('dlq');
  await engine.createQueue('source', { RedrivePolicy: redrivePolicy(dlq.arn, 1) });
  await engine.setQueueAttributes('source', { RedrivePolicy: '' });
  t.equal((await engine.describeQueue('source')).config.redrive, undefined);
  await engine.sendMessage('source', { body: 'x' });
  for (let n = 1; n <= 3; n++) t.equal((await engine.receiveMessage('source', { visibilityTimeoutSeconds: 0 })).length, 1, `delivery ${n}`);
  t.equal((await engine.describeQueue('dlq')).counts.visible, 0);
});

t.test('a RedrivePolicy must name a DLQ of the same type', async (t) => {
  const { engine } = await open(t);
  const fifoDlq = await engine.createQueue('dlq.fifo', { FifoQueue: 'true' });
  const err = await rejection(engine.createQueue('source', { RedrivePolicy: redrivePolicy(fifoDlq.arn, 3) }));
  t.equal(err.code, 'InvalidAttributeValue');
  t.match(err.message, /^Invalid value for the parameter RedrivePolicy\. Reason: /);
  t.equal((await rejection(engine.createQueue('source', { RedrivePolicy: redrivePolicy(fifoDlq.arn.replace('.fifo', ''), 0) }))).code, 'InvalidAttributeValue', 'maxReceiveCount 0');
});

t.test('FIFO redrive to a FIFO DLQ keeps group, order and ids', async (t) => {
  const { engine, clock } = await open(t);
  const dlq = await engine.createQueue('dlq.fifo', { FifoQueue: 'true' });
  const source = await engine.createQueue('source.fifo', { FifoQueue: 'true', VisibilityTimeout: '5', RedrivePolicy: redrivePolicy(dlq.arn, 2) });
  const first = await engine.sendMessage('source.fifo', { body: 'first', groupId: 'g', dedupId: 'd1' });
  const second = await engine.sendMessage('source.fifo', { body: 'second', groupId: 'g', dedupId: 'd2' });

  for (let n = 1; n <= 2; n++) {
    const got = await engine.receiveMessage('source.fifo', { maxMessages: 10 });
    t.same(got.map((m) => m.body), ['first', 'second'], `delivery ${n} in order`);
    t.same(got.map((m) => m.systemAttributes.ApproximateReceiveCount), [String(n), String(n)]);
    clock.advance(5_000);
  }
  t.same(await engine.receiveMessage('source.fifo', { maxMessages: 10 }), [], 'the third receive moves both');
  t.same((await engine.describeQueue('source.fifo')).counts, { visible: 0, inflight: 0, delayed: 0 });

  const dead = await engine.receiveMessage('dlq.fifo', { maxMessages: 10 });
  t.same(dead.map((m) => m.body), ['first', 'second'], 'order kept in the DLQ');
  t.same(dead.map((m) => m.messageId), [first.messageId, second.messageId]);
  for (const m of dead) {
    t.equal(m.systemAttributes.MessageGroupId, 'g');
    t.equal(m.systemAttributes.DeadLetterQueueSourceArn, source.arn);
    t.match(m.systemAttributes.SequenceNumber, /^\d+$/);
  }
  t.same(await engine.receiveMessage('dlq.fifo', { maxMessages: 10 }), [], 'the group is locked in the DLQ as well');
});

t.test('FIFO redrive moves a poisoned head and then delivers the rest of its group in order', async (t) => {
  const { engine } = await open(t);
  const dlq = await engine.createQueue('dlq.fifo', { FifoQueue: 'true' });
  await engine.createQueue('source.fifo', { FifoQueue: 'true', RedrivePolicy: redrivePolicy(dlq.arn, 1) });
  await engine.sendMessage('source.fifo', { body: 'poison', groupId: 'g', dedupId: 'd1' });
  const [poison] = await engine.receiveMessage('source.fifo', { visibilityTimeoutSeconds: 0 });
  t.equal(poison?.body, 'poison');
  await engine.sendMessage('source.fifo', { body: 'next', groupId: 'g', dedupId: 'd2' });
  t.same((await engine.receiveMessage('source.fifo', { maxMessages: 10 })).map((m) => m.body), ['next']);
  t.same((await engine.receiveMessage('dlq.fifo')).map((m) => m.body), ['poison']);
});
