/**
 * Standard-queue scenarios, one SQS rule each (SQS-REFERENCE.md §1.4–1.6), against the engine over
 * the in-memory store with a hand-driven clock.
 */
import t from 'tap';
import { md5OfBody, md5OfMessageAttributes, type MessageAttributes } from '@conveyor/client-sdk/wire';

import { openEngineFor, rejection } from '../support/index.ts';

const open = openEngineFor;

t.test('send, receive and delete', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const sent = await engine.sendMessage('q', { body: 'hello' });
  t.match(sent.messageId, /^[A-Za-z0-9_-]{1,80}$/, 'message ids are usable as batch entry ids');
  t.equal(sent.md5OfBody, md5OfBody('hello'));
  t.equal(sent.sequenceNumber, undefined, 'no sequence number on a standard queue');

  const [msg, ...rest] = await engine.receiveMessage('q', { maxMessages: 10 });
  t.same(rest, []);
  t.equal(msg?.messageId, sent.messageId);
  t.equal(msg?.body, 'hello');
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 });

  await engine.deleteMessage('q', msg!.receiptHandle);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 });
  t.same(await engine.receiveMessage('q', { maxMessages: 10, visibilityTimeoutSeconds: 0 }), [], 'a deleted message is not delivered again');
});

t.test('receive returns at most MaxNumberOfMessages, default 1', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  for (let i = 0; i < 12; i++) await engine.sendMessage('q', { body: `m${i}` });
  t.equal((await engine.receiveMessage('q')).length, 1);
  t.equal((await engine.receiveMessage('q', { maxMessages: 3 })).length, 3);
  t.equal((await engine.receiveMessage('q', { maxMessages: 10 })).length, 8, 'the rest, no more than are visible');
});

t.test('systemAttributes: false answers messages without system attributes, all else unchanged', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'a' });
  await engine.sendMessage('q', { body: 'b' });
  const [bare] = await engine.receiveMessage('q', { systemAttributes: false });
  t.same(bare?.systemAttributes, {}, 'none when the caller wants none');
  t.equal(bare?.md5OfBody, md5OfBody(bare!.body));
  const [full] = await engine.receiveMessage('q');
  t.equal(full?.systemAttributes.ApproximateReceiveCount, '1', 'by default, all of them');
  t.ok(full?.systemAttributes.SentTimestamp);
});

t.test('queue DelaySeconds hides a new message until the delay passes', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { DelaySeconds: '10' });
  await engine.sendMessage('q', { body: 'later' });
  t.same(await engine.receiveMessage('q'), []);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 1 }, 'counted as ApproximateNumberOfMessagesDelayed');

  clock.advance(9_999);
  t.same(await engine.receiveMessage('q'), [], 'still delayed 1 ms before the end');
  clock.advance(1);
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 0, delayed: 0 });
  const [msg] = await engine.receiveMessage('q');
  t.equal(msg?.body, 'later');
});

t.test('per-message DelaySeconds overrides the queue delay', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { DelaySeconds: '60' });
  await engine.sendMessage('q', { body: 'now', delaySeconds: 0 });
  await engine.sendMessage('q', { body: 'in 5s', delaySeconds: 5 });
  await engine.sendMessage('q', { body: 'queue default' });
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 0, delayed: 2 });
  const receiveAndDelete = async (): Promise<string[]> => {
    const got = await engine.receiveMessage('q', { maxMessages: 10 });
    for (const m of got) await engine.deleteMessage('q', m.receiptHandle);
    return got.map((m) => m.body);
  };
  t.same(await receiveAndDelete(), ['now']);

  clock.advance(4_999);
  t.same(await receiveAndDelete(), []);
  clock.advance(1);
  t.same(await receiveAndDelete(), ['in 5s']);
  clock.advance(54_999);
  t.same(await receiveAndDelete(), []);
  clock.advance(1);
  t.same(await receiveAndDelete(), ['queue default']);
});

t.test('a per-message delay on a queue without a delay', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x', delaySeconds: 900 });
  t.equal((await engine.describeQueue('q')).counts.delayed, 1);
  clock.advance(899_999);
  t.same(await engine.receiveMessage('q'), []);
  clock.advance(1);
  t.equal((await engine.receiveMessage('q')).length, 1);
});

t.test('the queue VisibilityTimeout hides a received message, which then reappears', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '20' });
  const sentAt = clock.now();
  const sent = await engine.sendMessage('q', { body: 'x' });

  clock.advance(1_000);
  const firstReceiveAt = clock.now();
  const [first] = await engine.receiveMessage('q');
  t.equal(first?.systemAttributes.ApproximateReceiveCount, '1');
  t.equal(first?.systemAttributes.ApproximateFirstReceiveTimestamp, String(firstReceiveAt));
  t.equal(first?.systemAttributes.SentTimestamp, String(sentAt));

  clock.advance(19_999);
  t.same(await engine.receiveMessage('q'), [], 'hidden for the whole timeout');
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 });

  clock.advance(1);
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 0, delayed: 0 });
  const [second] = await engine.receiveMessage('q');
  t.equal(second?.messageId, sent.messageId);
  t.equal(second?.systemAttributes.ApproximateReceiveCount, '2', 'the receive count goes up');
  t.equal(second?.systemAttributes.ApproximateFirstReceiveTimestamp, String(firstReceiveAt), 'the first receive time stays');
  t.equal(second?.systemAttributes.SentTimestamp, String(sentAt), 'the sent time stays');
  t.not(second?.receiptHandle, first?.receiptHandle, 'every receive makes a new handle');
});

t.test('a VisibilityTimeout on the receive overrides the queue default', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '300' });
  await engine.sendMessage('q', { body: 'x' });
  await engine.receiveMessage('q', { visibilityTimeoutSeconds: 5 });
  clock.advance(4_999);
  t.same(await engine.receiveMessage('q'), []);
  clock.advance(1);
  const [again] = await engine.receiveMessage('q');
  t.equal(again?.systemAttributes.ApproximateReceiveCount, '2');
  // That receive used the queue default again: 300 s.
  clock.advance(299_999);
  t.same(await engine.receiveMessage('q'), []);
  clock.advance(1);
  t.equal((await engine.receiveMessage('q')).length, 1);
});

t.test('a receive with VisibilityTimeout 0 leaves the message visible but counts the receive', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  await engine.receiveMessage('q', { visibilityTimeoutSeconds: 0 });
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 0, delayed: 0 });
  const [again] = await engine.receiveMessage('q', { visibilityTimeoutSeconds: 0 });
  t.equal(again?.systemAttributes.ApproximateReceiveCount, '2');
});

t.test('ChangeMessageVisibility extends the timeout, counted from the call', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '30' });
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  clock.advance(20_000);
  await engine.changeMessageVisibility('q', msg!.receiptHandle, 60);
  clock.advance(59_999);
  t.same(await engine.receiveMessage('q'), [], 'still hidden after the original timeout, until 60 s after the change');
  clock.advance(1);
  const [again] = await engine.receiveMessage('q');
  t.equal(again?.messageId, msg?.messageId);
});

t.test('ChangeMessageVisibility to 0 makes the message visible at once', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  await engine.changeMessageVisibility('q', msg!.receiptHandle, 0);
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 0, delayed: 0 });
  const [again] = await engine.receiveMessage('q');
  t.equal(again?.messageId, msg?.messageId);
});

t.test('the new timeout is not remembered by the next receive', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '10' });
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  await engine.changeMessageVisibility('q', msg!.receiptHandle, 100);
  clock.advance(100_000);
  await engine.receiveMessage('q');
  clock.advance(10_000);
  t.equal((await engine.receiveMessage('q')).length, 1, 'the second receive used the queue default of 10 s');
});

t.test('ChangeMessageVisibility cannot take the total past 12 hours from the receive', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  await engine.changeMessageVisibility('q', msg!.receiptHandle, 43_200); // exactly 12 h: allowed

  clock.advance(3_600_000);
  const err = await rejection(engine.changeMessageVisibility('q', msg!.receiptHandle, 43_200));
  t.equal(err.code, 'InvalidParameterValue');
  t.equal(err.message, 'Value 43200 for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]');

  await engine.changeMessageVisibility('q', msg!.receiptHandle, 43_200 - 3_600); // up to the 12 h mark: allowed
  clock.advance((43_200 - 3_600) * 1000 - 1);
  t.same(await engine.receiveMessage('q'), []);
  clock.advance(1);
  t.equal((await engine.receiveMessage('q')).length, 1);
});

t.test('ChangeMessageVisibility out of range is refused', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  const err = await rejection(engine.changeMessageVisibility('q', msg!.receiptHandle, 43_201));
  t.equal(err.code, 'InvalidParameterValue');
  t.match(err.message, /parameter VisibilityTimeout/);
  t.equal((await rejection(engine.changeMessageVisibility('q', msg!.receiptHandle, -1))).code, 'InvalidParameterValue');
});

t.test('ChangeMessageVisibility with the latest handle after the timeout lapsed still succeeds', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '10' });
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  clock.advance(10_000);
  await engine.changeMessageVisibility('q', msg!.receiptHandle, 30);
  t.same(await engine.receiveMessage('q'), [], 'hidden again by the change');
});

t.test('ChangeMessageVisibility with a handle from an earlier receive fails', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [first] = await engine.receiveMessage('q', { visibilityTimeoutSeconds: 0 });
  const [second] = await engine.receiveMessage('q');
  const err = await rejection(engine.changeMessageVisibility('q', first!.receiptHandle, 0));
  t.equal(err.code, 'InvalidParameterValue');
  t.equal(err.message, `Value ${first!.receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 }, 'the failed change did nothing');
  await engine.changeMessageVisibility('q', second!.receiptHandle, 0);
  t.equal((await engine.describeQueue('q')).counts.visible, 1, 'the latest handle works');
});

t.test('ChangeMessageVisibility on a deleted message fails', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  await engine.deleteMessage('q', msg!.receiptHandle);
  t.equal((await rejection(engine.changeMessageVisibility('q', msg!.receiptHandle, 10))).code, 'InvalidParameterValue');
});

t.test('deleting with a stale handle succeeds but does not delete; the latest handle deletes', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '10' });
  await engine.sendMessage('q', { body: 'x' });
  const [first] = await engine.receiveMessage('q');
  clock.advance(10_000);
  const [second] = await engine.receiveMessage('q');
  t.equal(second?.messageId, first?.messageId);

  await engine.deleteMessage('q', first!.receiptHandle); // SQS: success, may not delete
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 }, 'still there');
  clock.advance(10_000);
  const [third] = await engine.receiveMessage('q');
  t.equal(third?.messageId, first?.messageId, 'and delivered again');

  await engine.deleteMessage('q', third!.receiptHandle);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 });
  clock.advance(10_000);
  t.same(await engine.receiveMessage('q'), []);
});

t.test('deleting with the latest handle after its timeout lapsed still deletes', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '10' });
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  clock.advance(15_000);
  await engine.deleteMessage('q', msg!.receiptHandle);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 });
});

t.test('deleting twice with the same handle succeeds', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  await engine.deleteMessage('q', msg!.receiptHandle);
  await engine.deleteMessage('q', msg!.receiptHandle);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 });
});

t.test('a garbage receipt handle is ReceiptHandleIsInvalid', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  for (const handle of ['garbage', '', 'AAAAAAAAAAAAAAAAAAAAAAA', 'x'.repeat(23)]) {
    const err = await rejection(engine.deleteMessage('q', handle));
    t.equal(err.code, 'ReceiptHandleIsInvalid', `delete ${JSON.stringify(handle)}`);
    t.equal(err.message, `The input receipt handle "${handle}" is not a valid receipt handle.`);
    const change = await rejection(engine.changeMessageVisibility('q', handle, 10));
    t.equal(change.code, 'ReceiptHandleIsInvalid', `change visibility ${JSON.stringify(handle)}`);
    t.equal(change.message, `The input receipt handle "${handle}" is not a valid receipt handle.`);
  }
});

t.test('a receipt handle from another queue is ReceiptHandleIsInvalid and touches neither queue', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('a');
  await engine.createQueue('b');
  await engine.sendMessage('a', { body: 'in a' });
  await engine.sendMessage('b', { body: 'in b' });
  const [fromA] = await engine.receiveMessage('a');
  await engine.receiveMessage('b');

  const err = await rejection(engine.deleteMessage('b', fromA!.receiptHandle));
  t.equal(err.code, 'ReceiptHandleIsInvalid');
  t.equal(err.message, `The input receipt handle "${fromA!.receiptHandle}" is not a valid receipt handle.`);
  t.equal((await rejection(engine.changeMessageVisibility('b', fromA!.receiptHandle, 0))).code, 'ReceiptHandleIsInvalid');
  t.same((await engine.describeQueue('a')).counts, { visible: 0, inflight: 1, delayed: 0 });
  t.same((await engine.describeQueue('b')).counts, { visible: 0, inflight: 1, delayed: 0 });
});

t.test('a receipt handle from a deleted queue is invalid in a new queue of the same name', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'old' });
  const [old] = await engine.receiveMessage('q');
  await engine.deleteQueue('q');

  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'new' });
  const [fresh] = await engine.receiveMessage('q');
  t.equal(fresh?.body, 'new');

  const err = await rejection(engine.deleteMessage('q', old!.receiptHandle));
  t.equal(err.code, 'ReceiptHandleIsInvalid');
  t.equal(err.message, `The input receipt handle "${old!.receiptHandle}" is not a valid receipt handle.`);
  t.equal((await rejection(engine.changeMessageVisibility('q', old!.receiptHandle, 0))).code, 'ReceiptHandleIsInvalid');
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 }, 'the new message is untouched');
});

t.test('PurgeQueue removes visible, in-flight and delayed messages', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'in flight' });
  await engine.receiveMessage('q');
  await engine.sendMessage('q', { body: 'visible' });
  await engine.sendMessage('q', { body: 'delayed', delaySeconds: 60 });
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 1, delayed: 1 });

  await engine.purgeQueue('q');
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 });
  t.same(await engine.receiveMessage('q', { maxMessages: 10 }), []);

  await engine.sendMessage('q', { body: 'after' });
  t.same((await engine.receiveMessage('q', { maxMessages: 10 })).map((m) => m.body), ['after'], 'the queue still works');
});

t.test('only one PurgeQueue per 60 seconds', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q');
  await engine.purgeQueue('q');
  clock.advance(59_999);
  const err = await rejection(engine.purgeQueue('q'));
  t.equal(err.code, 'PurgeQueueInProgress');
  t.equal(err.message, 'Only one PurgeQueue operation on q is allowed every 60 seconds.');
  t.equal(err.status, 403);

  await engine.sendMessage('q', { body: 'kept' });
  t.equal((await engine.describeQueue('q')).counts.visible, 1, 'the refused purge removed nothing');
  clock.advance(1);
  await engine.purgeQueue('q');
  t.equal((await engine.describeQueue('q')).counts.visible, 0);
});

t.test('purges of different queues do not limit each other', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('a');
  await engine.createQueue('b');
  await engine.purgeQueue('a');
  await engine.purgeQueue('b');
  t.equal((await rejection(engine.purgeQueue('a'))).code, 'PurgeQueueInProgress');
});

t.test('messages past MessageRetentionPeriod are deleted', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q');
  await engine.setQueueAttributes('q', { MessageRetentionPeriod: '60' });
  await engine.sendMessage('q', { body: 'old' });
  clock.advance(30_000);
  await engine.sendMessage('q', { body: 'young' });

  clock.advance(29_999);
  await engine.expire();
  t.equal((await engine.describeQueue('q')).counts.visible, 2, 'kept until exactly the retention period');

  clock.advance(1);
  await engine.expire();
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 0, delayed: 0 });
  t.same((await engine.receiveMessage('q', { maxMessages: 10 })).map((m) => m.body), ['young']);

  clock.advance(30_000);
  await engine.expire();
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 }, 'in-flight messages expire too');
});

t.test('a message past retention is not delivered even before expire() runs', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { MessageRetentionPeriod: '60' });
  await engine.sendMessage('q', { body: 'old' });
  clock.advance(60_000);
  t.same(await engine.receiveMessage('q'), []);
});

t.test('approximate counters track visible, in-flight and delayed messages', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '30' });
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 });
  for (let i = 0; i < 5; i++) await engine.sendMessage('q', { body: `v${i}` });
  await engine.sendMessage('q', { body: 'd1', delaySeconds: 10 });
  await engine.sendMessage('q', { body: 'd2', delaySeconds: 40 });
  t.same((await engine.describeQueue('q')).counts, { visible: 5, inflight: 0, delayed: 2 });

  const received = await engine.receiveMessage('q', { maxMessages: 3 });
  t.same((await engine.describeQueue('q')).counts, { visible: 2, inflight: 3, delayed: 2 });

  clock.advance(10_000);
  t.same((await engine.describeQueue('q')).counts, { visible: 3, inflight: 3, delayed: 1 }, 'a delay ended');

  await engine.deleteMessage('q', received[0]!.receiptHandle);
  t.same((await engine.describeQueue('q')).counts, { visible: 3, inflight: 2, delayed: 1 });

  clock.advance(20_000);
  t.same((await engine.describeQueue('q')).counts, { visible: 5, inflight: 0, delayed: 1 }, 'visibility timeouts ended');
  clock.advance(10_000);
  t.same((await engine.describeQueue('q')).counts, { visible: 6, inflight: 0, delayed: 0 });
});

t.test('fair queues: MessageGroupId is accepted on a standard queue and returned', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'a1', groupId: 'tenant-a' });
  await engine.sendMessage('q', { body: 'a2', groupId: 'tenant-a' });
  await engine.sendMessage('q', { body: 'plain' });

  const first = await engine.receiveMessage('q');
  t.equal(first.length, 1);
  // No group locking on standard queues: the other message of the same group is available at once.
  const rest = await engine.receiveMessage('q', { maxMessages: 10 });
  const all = [...first, ...rest];
  t.same(all.map((m) => m.body).sort(), ['a1', 'a2', 'plain']);
  for (const m of all) {
    t.equal(m.systemAttributes.MessageGroupId, m.body === 'plain' ? undefined : 'tenant-a', `group of ${m.body}`);
    t.equal(m.systemAttributes.SequenceNumber, undefined, 'no sequence number on a standard queue');
    t.equal(m.systemAttributes.MessageDeduplicationId, undefined);
  }
});

t.test('fair queues: an invalid MessageGroupId is refused on a standard queue too', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const err = await rejection(engine.sendMessage('q', { body: 'x', groupId: '' }));
  t.equal(err.code, 'InvalidParameterValue');
  t.equal(err.message, 'Value  for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.');
});

t.test('MessageDeduplicationId is refused on a standard queue', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const err = await rejection(engine.sendMessage('q', { body: 'x', dedupId: 'd1' }));
  t.equal(err.code, 'InvalidParameterValue');
  t.match(err.message, /^Value d1 for parameter MessageDeduplicationId is invalid\. Reason: /);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 }, 'nothing was sent');
});

t.test('MD5s of body and attributes match the SQS algorithm and known vectors', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const attributes: MessageAttributes = { 'test-key': { DataType: 'String', StringValue: 'test-value' } };
  const sent = await engine.sendMessage('q', { body: '{"message_index":1}', attributes });
  t.equal(sent.md5OfBody, '4504dd781f625d681c31cda87e260702');
  t.equal(sent.md5OfAttributes, 'befa18540a897f7d022bf07057754a03');

  const [msg] = await engine.receiveMessage('q');
  t.equal(msg?.md5OfBody, '4504dd781f625d681c31cda87e260702');
  t.equal(msg?.md5OfMessageAttributes, 'befa18540a897f7d022bf07057754a03');
  t.same(msg?.attributes, attributes);

  const plain = await engine.sendMessage('q', { body: 'no attributes' });
  t.equal(plain.md5OfAttributes, undefined, 'no attribute MD5 without attributes');
  const [received] = await engine.receiveMessage('q');
  t.equal(received?.md5OfMessageAttributes, undefined);
  t.equal(received?.attributes, undefined);
});

t.test('MD5s of several attributes and of a multi-byte body', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const attributes: MessageAttributes = {
    Hello: { DataType: 'String', StringValue: 'There' },
    General: { DataType: 'String', StringValue: 'Kenobi' },
    'Help.Me': { DataType: 'String', StringValue: 'Me' },
  };
  const body = 'größe 🚀';
  const sent = await engine.sendMessage('q', { body, attributes });
  t.equal(sent.md5OfAttributes, '4c360f3fdafd970e05fae2f149d997f5', 'recorded from AWS');
  t.equal(sent.md5OfBody, md5OfBody(body));
  const [msg] = await engine.receiveMessage('q');
  t.equal(msg?.body, body);
  t.equal(msg?.md5OfBody, sent.md5OfBody);
});

t.test('binary and Number attributes round trip', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const bytes = new Uint8Array([0, 1, 2, 254, 255, 0x80]);
  const attributes: MessageAttributes = {
    blob: { DataType: 'Binary', BinaryValue: bytes },
    'img.kind': { DataType: 'Binary.gif', BinaryValue: new Uint8Array([71, 73, 70]) },
    count: { DataType: 'Number', StringValue: '-12.5e3' },
  };
  const sent = await engine.sendMessage('q', { body: 'x', attributes });
  t.equal(sent.md5OfAttributes, md5OfMessageAttributes(attributes));

  const [msg] = await engine.receiveMessage('q');
  const blob = msg?.attributes?.blob;
  t.equal(blob?.DataType, 'Binary');
  t.ok(blob?.BinaryValue instanceof Uint8Array, 'binary value comes back as bytes');
  t.same([...(blob?.BinaryValue ?? [])], [...bytes]);
  t.same([...(msg?.attributes?.['img.kind']?.BinaryValue ?? [])], [71, 73, 70]);
  t.equal(msg?.attributes?.['img.kind']?.DataType, 'Binary.gif');
  t.same(msg?.attributes?.count, { DataType: 'Number', StringValue: '-12.5e3' });
  t.equal(msg?.md5OfMessageAttributes, sent.md5OfAttributes);
});

t.test('AWSTraceHeader and SenderId are returned as system attributes', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x', traceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793', senderId: 'AIDAEXAMPLE' });
  const [msg] = await engine.receiveMessage('q');
  t.equal(msg?.systemAttributes.AWSTraceHeader, 'Root=1-5759e988-bd862e3fe1be46a994272793');
  t.equal(msg?.systemAttributes.SenderId, 'AIDAEXAMPLE');
});

t.test('in-flight limit: a short poll beyond it is OverLimit', async (t) => {
  const { engine } = await open(t, { stateMachine: { maxInFlight: 3 } });
  await engine.createQueue('q');
  for (let i = 0; i < 5; i++) await engine.sendMessage('q', { body: `m${i}` });
  const received = await engine.receiveMessage('q', { maxMessages: 10 });
  t.equal(received.length, 3, 'a receive stops at the limit');
  t.same((await engine.describeQueue('q')).counts, { visible: 2, inflight: 3, delayed: 0 });

  const err = await rejection(engine.receiveMessage('q', { maxMessages: 10 }));
  t.equal(err.code, 'OverLimit');
  t.equal(err.status, 403);

  await engine.deleteMessage('q', received[0]!.receiptHandle);
  t.equal((await engine.receiveMessage('q', { maxMessages: 10 })).length, 1, 'room for one more after a delete');
});

t.test('in-flight limit: a FIFO queue returns nothing instead of OverLimit', async (t) => {
  const { engine } = await open(t, { stateMachine: { maxInFlight: 3 } });
  await engine.createQueue('q.fifo', { FifoQueue: 'true' });
  for (let i = 0; i < 5; i++) await engine.sendMessage('q.fifo', { body: `m${i}`, groupId: `g${i}`, dedupId: `d${i}` });
  t.equal((await engine.receiveMessage('q.fifo', { maxMessages: 10 })).length, 3);
  t.same(await engine.receiveMessage('q.fifo', { maxMessages: 10 }), []);
});
