/**
 * FIFO-queue scenarios, one SQS rule each (SQS-REFERENCE.md §1.6): ordering and message-group
 * locking, the send rules, deduplication, sequence numbers and receipt-handle expiry.
 */
import t from 'tap';
import { LIMITS, md5OfBody } from '@conveyor/client-sdk/wire';
import type { QueueEngine, ReceivedMessage } from '@conveyor/backend-node';
import { openEngineFor, rejection } from '../support/index.ts';

const open = openEngineFor;

const FIFO = { FifoQueue: 'true' } as const;
const bodies = (messages: readonly ReceivedMessage[]): string[] => messages.map((m) => m.body);

let dedupCounter = 0;
/** Sends `body` to group `group` with a fresh deduplication id. */
function send(engine: QueueEngine, queue: string, group: string, body: string): ReturnType<QueueEngine['sendMessage']> {
  return engine.sendMessage(queue, { body, groupId: group, dedupId: `dedup-${dedupCounter++}` });
}

async function receiveAndDeleteAll(engine: QueueEngine, queue: string, maxMessages = 10): Promise<string[]> {
  const got = await engine.receiveMessage(queue, { maxMessages });
  await Promise.all(got.map((m) => engine.deleteMessage(queue, m.receiptHandle)));
  return bodies(got);
}

t.test('messages of a group are delivered in send order', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  for (let i = 0; i < 35; i++) await send(engine, 'q.fifo', 'g', `m${i}`);
  const seen: string[] = [];
  for (let batch = await receiveAndDeleteAll(engine, 'q.fifo', 7); batch.length > 0; batch = await receiveAndDeleteAll(engine, 'q.fifo', 7)) {
    t.ok(batch.length <= 7, 'at most MaxNumberOfMessages');
    seen.push(...batch);
  }
  t.same(seen, Array.from({ length: 35 }, (_, i) => `m${i}`));
});

t.test('order holds within each group when groups interleave', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const groups = ['a', 'b', 'c'];
  for (let i = 0; i < 30; i++) {
    const group = groups[(i * 7) % 3]!;
    await send(engine, 'q.fifo', group, `${group}:${i}`);
  }
  const seen: string[] = [];
  for (let batch = await receiveAndDeleteAll(engine, 'q.fifo', 4); batch.length > 0; batch = await receiveAndDeleteAll(engine, 'q.fifo', 4)) seen.push(...batch);
  t.equal(seen.length, 30, 'every message delivered once');
  for (const group of groups) {
    const mine = seen.filter((b) => b.startsWith(`${group}:`)).map((b) => Number(b.slice(2)));
    t.same(mine, [...mine].sort((x, y) => x - y), `group ${group} in send order`);
  }
});

t.test('a group is locked while one of its messages is in flight; other groups are served', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  await send(engine, 'q.fifo', 'g1', 'a1');
  await send(engine, 'q.fifo', 'g1', 'a2');
  await send(engine, 'q.fifo', 'g2', 'b1');

  const [a1] = await engine.receiveMessage('q.fifo', { maxMessages: 1 });
  t.equal(a1?.body, 'a1');
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['b1'], 'g1 is locked, g2 is not');
  t.same(await engine.receiveMessage('q.fifo', { maxMessages: 10 }), [], 'both groups locked now');
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 1, inflight: 2, delayed: 0 }, 'a2 counts as visible');

  await engine.deleteMessage('q.fifo', a1!.receiptHandle);
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['a2'], 'deleting a1 unlocks g1');
});

t.test('a message whose visibility lapses comes back before the rest of its group', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, VisibilityTimeout: '10' });
  await send(engine, 'q.fifo', 'g', 'first');
  await send(engine, 'q.fifo', 'g', 'second');
  const [first] = await engine.receiveMessage('q.fifo');
  t.equal(first?.body, 'first');
  clock.advance(9_999);
  t.same(await engine.receiveMessage('q.fifo', { maxMessages: 10 }), [], 'locked until the timeout ends');
  clock.advance(1);
  const again = await engine.receiveMessage('q.fifo', { maxMessages: 10 });
  t.same(bodies(again), ['first', 'second']);
  t.equal(again[0]?.systemAttributes.ApproximateReceiveCount, '2');
  t.equal(again[0]?.messageId, first?.messageId);
});

t.test('a message made visible with ChangeMessageVisibility 0 unlocks its group', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  await send(engine, 'q.fifo', 'g', 'first');
  await send(engine, 'q.fifo', 'g', 'second');
  const [first] = await engine.receiveMessage('q.fifo');
  await engine.changeMessageVisibility('q.fifo', first!.receiptHandle, 0);
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['first', 'second']);
});

t.test('a receive returns as many messages of one group as it can', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  for (let i = 0; i < 5; i++) await send(engine, 'q.fifo', 'g1', `a${i}`);
  for (let i = 0; i < 5; i++) await send(engine, 'q.fifo', 'g2', `b${i}`);

  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 4 })), ['a0', 'a1', 'a2', 'a3'], 'four of the first group');
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['b0', 'b1', 'b2', 'b3', 'b4'], 'a4 waits behind the in-flight a0–a3');
});

t.test('a receive takes a whole group before moving to the next', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  for (let i = 0; i < 3; i++) await send(engine, 'q.fifo', 'g1', `a${i}`);
  for (let i = 0; i < 3; i++) await send(engine, 'q.fifo', 'g2', `b${i}`);
  const got = bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 }));
  t.equal(got.length, 6);
  const groupOf = got.map((b) => b[0]);
  t.same(groupOf, [...groupOf].sort(), 'each group’s messages are contiguous');
  t.same(got.filter((b) => b.startsWith('a')), ['a0', 'a1', 'a2']);
  t.same(got.filter((b) => b.startsWith('b')), ['b0', 'b1', 'b2']);
});

t.test('an extended message that is not last keeps later ones blocked after their timeouts lapse', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, VisibilityTimeout: '30' });
  for (const body of ['m1', 'm2', 'm3']) await send(engine, 'q.fifo', 'g', body);
  await send(engine, 'q.fifo', 'other', 'x1');
  const got = await engine.receiveMessage('q.fifo', { maxMessages: 3 });
  t.same(bodies(got), ['m1', 'm2', 'm3']);

  clock.advance(10_000);
  await engine.changeMessageVisibility('q.fifo', got[0]!.receiptHandle, 100); // m1 hidden until t = 110 s
  clock.advance(20_000); // t = 30 s: m2 and m3 time out
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 3, inflight: 1, delayed: 0 });
  t.same(await receiveAndDeleteAll(engine, 'q.fifo'), ['x1'], 'm2 and m3 stay behind m1; other groups are served');
  clock.advance(79_999);
  t.same(await engine.receiveMessage('q.fifo', { maxMessages: 10 }), []);

  clock.advance(1); // t = 110 s: m1 times out too
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['m1', 'm2', 'm3']);
});

t.test('an in-flight message in the middle of a group blocks it too', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, VisibilityTimeout: '30' });
  for (const body of ['m1', 'm2', 'm3']) await send(engine, 'q.fifo', 'g', body);
  const got = await engine.receiveMessage('q.fifo', { maxMessages: 2 });
  await engine.deleteMessage('q.fifo', got[0]!.receiptHandle);
  t.same(await engine.receiveMessage('q.fifo', { maxMessages: 10 }), [], 'm2 in flight blocks m3');
  clock.advance(30_000);
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['m2', 'm3']);
});

t.test('delayed messages (queue DelaySeconds) do not block other groups or earlier visible messages', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, DelaySeconds: '10' });
  await send(engine, 'q.fifo', 'g1', 'a');
  clock.advance(10_000);
  await send(engine, 'q.fifo', 'g1', 'b');
  await send(engine, 'q.fifo', 'g2', 'c');
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 1, inflight: 0, delayed: 2 });

  const first = await engine.receiveMessage('q.fifo', { maxMessages: 10 });
  t.same(bodies(first), ['a'], 'a is delivered although b of its group is still delayed');
  await engine.deleteMessage('q.fifo', first[0]!.receiptHandle);

  clock.advance(5_000);
  await engine.setQueueAttributes('q.fifo', { DelaySeconds: '0' });
  await send(engine, 'q.fifo', 'g3', 'd');
  t.same(await receiveAndDeleteAll(engine, 'q.fifo'), ['d'], 'g3 is served while g1 and g2 wait out their delays');

  clock.advance(5_000);
  const rest = await receiveAndDeleteAll(engine, 'q.fifo');
  t.same(rest.sort(), ['b', 'c']);
});

t.test('per-message DelaySeconds above 0 is refused on a FIFO queue; 0 is accepted', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const err = await rejection(engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'd1', delaySeconds: 5 }));
  t.equal(err.code, 'InvalidParameterValue');
  t.match(err.message, /^Value 5 for parameter DelaySeconds is invalid\. Reason: /);
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 0, inflight: 0, delayed: 0 });

  await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'd2', delaySeconds: 0 });
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 1, inflight: 0, delayed: 0 });
});

t.test('MessageGroupId is required on a FIFO queue', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, ContentBasedDeduplication: 'true' });
  const err = await rejection(engine.sendMessage('q.fifo', { body: 'x', dedupId: 'd' }));
  t.equal(err.code, 'MissingParameter');
  t.equal(err.message, 'The request must contain the parameter MessageGroupId.');
  t.equal((await rejection(engine.sendMessage('q.fifo', { body: 'x' }))).code, 'MissingParameter', 'even with content-based dedup');
});

t.test('MessageDeduplicationId is required unless ContentBasedDeduplication is on', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const err = await rejection(engine.sendMessage('q.fifo', { body: 'x', groupId: 'g' }));
  t.equal(err.code, 'InvalidParameterValue');
  t.equal(err.message, 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 0, inflight: 0, delayed: 0 });
});

t.test('a duplicate within 5 minutes returns the original ids and is not delivered again', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const original = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' });
  t.equal(original.duplicate, false);
  clock.advance(60_000);
  const dup = await engine.sendMessage('q.fifo', { body: 'different body', groupId: 'g', dedupId: 'same' });
  t.equal(dup.messageId, original.messageId);
  t.equal(dup.sequenceNumber, original.sequenceNumber);
  t.equal(dup.duplicate, true);
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 1, inflight: 0, delayed: 0 });

  const [msg] = await engine.receiveMessage('q.fifo', { maxMessages: 10 });
  t.equal(msg?.body, 'x', 'the original is what is delivered');
  t.equal(msg?.systemAttributes.MessageDeduplicationId, 'same');
  await engine.deleteMessage('q.fifo', msg!.receiptHandle);

  clock.advance(60_000);
  const afterDelete = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' });
  t.equal(afterDelete.messageId, original.messageId, 'dedup ids are tracked after delete');
  t.same(await engine.receiveMessage('q.fifo', { maxMessages: 10 }), [], 'not delivered twice');
});

t.test('after the 5-minute window the same dedup id makes a new message', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const original = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' });
  clock.advance(LIMITS.dedupWindowMs - 1);
  t.equal((await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' })).messageId, original.messageId, 'still a duplicate 1 ms before');
  clock.advance(1);
  await engine.expire();
  const later = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' });
  t.not(later.messageId, original.messageId);
  t.ok(BigInt(later.sequenceNumber!) > BigInt(original.sequenceNumber!));
  t.equal(later.duplicate, false);
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['x', 'x'], 'both delivered');
});

t.test('a moved message keeps its dedup id but is deduplicated on its move key', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const original = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' });
  const moved = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same', redriveKey: 'receive-1' });
  t.equal(moved.duplicate, false, 'moved back inside the window: not taken for the original');
  t.not(moved.messageId, original.messageId);
  const retried = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same', redriveKey: 'receive-1' });
  t.equal(retried.duplicate, true, 'a retried move is deduplicated');
  t.equal(retried.messageId, moved.messageId);
  t.equal((await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' })).messageId, original.messageId, "a sender's retry still meets the original");
  const got = await engine.receiveMessage('q.fifo', { maxMessages: 10 });
  t.same(got.map((m) => m.systemAttributes.MessageDeduplicationId), ['same', 'same'], 'both carry the dedup id they were sent with');
});

t.test('the dedup window counts from the original send, not from duplicates', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const original = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' });
  clock.advance(4 * 60_000);
  await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' });
  clock.advance(60_000);
  t.not((await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g', dedupId: 'same' })).messageId, original.messageId);
});

t.test('content-based deduplication uses the body', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, ContentBasedDeduplication: 'true' });
  const a = await engine.sendMessage('q.fifo', { body: 'same body', groupId: 'g' });
  const b = await engine.sendMessage('q.fifo', { body: 'same body', groupId: 'g' });
  const c = await engine.sendMessage('q.fifo', { body: 'other body', groupId: 'g' });
  const d = await engine.sendMessage('q.fifo', { body: 'same body', groupId: 'g', dedupId: 'explicit' });
  t.equal(b.messageId, a.messageId, 'same body: duplicate');
  t.not(c.messageId, a.messageId, 'different body: new message');
  t.not(d.messageId, a.messageId, 'an explicit dedup id wins over the body');

  const got = await engine.receiveMessage('q.fifo', { maxMessages: 10 });
  t.same(bodies(got), ['same body', 'other body', 'same body']);
  t.match(got[0]?.systemAttributes.MessageDeduplicationId, /^[0-9a-f]{64}$/, 'the SHA-256 of the body');
  t.equal(got[2]?.systemAttributes.MessageDeduplicationId, 'explicit');
});

t.test('with the default DeduplicationScope the dedup id is queue-wide', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const a = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g1', dedupId: 'same' });
  const b = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g2', dedupId: 'same' });
  t.equal(b.messageId, a.messageId);
  t.equal((await engine.describeQueue('q.fifo')).counts.visible, 1);
});

t.test('DeduplicationScope=messageGroup: the same dedup id in two groups is two messages', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' });
  const a = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g1', dedupId: 'same' });
  const b = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g2', dedupId: 'same' });
  const c = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'g1', dedupId: 'same' });
  t.not(b.messageId, a.messageId);
  t.equal(c.messageId, a.messageId, 'within one group it is still a duplicate');
  const got = await engine.receiveMessage('q.fifo', { maxMessages: 10 });
  t.same(got.map((m) => m.systemAttributes.MessageGroupId).sort(), ['g1', 'g2']);
});

t.test('duplicates inside one SendMessageBatch', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const result = await engine.sendMessageBatch('q.fifo', [
    { id: 'e1', body: 'one', groupId: 'g', dedupId: 'd1' },
    { id: 'e2', body: 'one again', groupId: 'g', dedupId: 'd1' },
    { id: 'e3', body: 'two', groupId: 'g', dedupId: 'd2' },
  ]);
  t.same(result.failed, []);
  t.same(result.successful.map((s) => s.id), ['e1', 'e2', 'e3']);
  const [e1, e2, e3] = result.successful;
  t.equal(e2?.messageId, e1?.messageId);
  t.equal(e2?.sequenceNumber, e1?.sequenceNumber);
  t.not(e3?.messageId, e1?.messageId);
  t.equal(e2?.md5OfBody, md5OfBody('one again'), 'each entry gets the MD5 of its own body');
  t.same(bodies(await engine.receiveMessage('q.fifo', { maxMessages: 10 })), ['one', 'two']);
});

t.test('sequence numbers strictly increase across sends, batches and groups', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const numbers: string[] = [];
  for (let i = 0; i < 5; i++) numbers.push((await send(engine, 'q.fifo', `g${i % 2}`, `m${i}`)).sequenceNumber!);
  const batch = await engine.sendMessageBatch('q.fifo', Array.from({ length: 10 }, (_, i) => ({ id: `e${i}`, body: `b${i}`, groupId: `g${i % 3}`, dedupId: `batch-${i}` })));
  numbers.push(...batch.successful.map((s) => s.sequenceNumber!));
  numbers.push((await send(engine, 'q.fifo', 'g0', 'last')).sequenceNumber!);

  t.equal(numbers.length, 16);
  for (const n of numbers) t.match(n, /^\d{1,40}$/, 'a decimal string of at most 128 bits');
  for (let i = 1; i < numbers.length; i++) t.ok(BigInt(numbers[i]!) > BigInt(numbers[i - 1]!), `#${i} > #${i - 1}`);

  const received = new Map<string, string>();
  for (let got = await engine.receiveMessage('q.fifo', { maxMessages: 10 }); got.length > 0; got = await engine.receiveMessage('q.fifo', { maxMessages: 10 })) {
    for (const m of got) {
      received.set(m.body, m.systemAttributes.SequenceNumber!);
      await engine.deleteMessage('q.fifo', m.receiptHandle);
    }
  }
  t.equal(received.get('m0'), numbers[0], 'receives report the send’s sequence number');
  t.equal(received.get('last'), numbers[15]);
});

t.test('deleting with an expired handle fails on a FIFO queue', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', { ...FIFO, VisibilityTimeout: '10' });
  await send(engine, 'q.fifo', 'g', 'x');
  const [msg] = await engine.receiveMessage('q.fifo');
  clock.advance(10_000);

  const err = await rejection(engine.deleteMessage('q.fifo', msg!.receiptHandle));
  t.equal(err.code, 'InvalidParameterValue');
  t.equal(err.message, `Value ${msg!.receiptHandle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`);
  t.equal((await engine.describeQueue('q.fifo')).counts.visible, 1, 'not deleted');

  const change = await rejection(engine.changeMessageVisibility('q.fifo', msg!.receiptHandle, 30));
  t.equal(change.code, 'InvalidParameterValue');
  t.match(change.message, /Reason: The receipt handle has expired\.$/);

  const [again] = await engine.receiveMessage('q.fifo');
  const stale = await rejection(engine.deleteMessage('q.fifo', msg!.receiptHandle));
  t.match(stale.message, /Reason: The receipt handle has expired\.$/, 'an older handle of a received-again message has expired too');
  await engine.deleteMessage('q.fifo', again!.receiptHandle);
  t.same((await engine.describeQueue('q.fifo')).counts, { visible: 0, inflight: 0, delayed: 0 }, 'the latest handle deletes');
});

t.test('a FIFO receipt handle from another queue is ReceiptHandleIsInvalid', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('a.fifo', FIFO);
  await engine.createQueue('b.fifo', FIFO);
  await send(engine, 'a.fifo', 'g', 'x');
  const [msg] = await engine.receiveMessage('a.fifo');
  const err = await rejection(engine.deleteMessage('b.fifo', msg!.receiptHandle));
  t.equal(err.code, 'ReceiptHandleIsInvalid');
  t.equal(err.message, `The input receipt handle "${msg!.receiptHandle}" is not a valid receipt handle.`);
});

t.test('system attributes of a FIFO message', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', FIFO);
  const sentAt = clock.now();
  const sent = await engine.sendMessage('q.fifo', { body: 'x', groupId: 'group-1', dedupId: 'dedup-1' });
  clock.advance(500);
  const [msg] = await engine.receiveMessage('q.fifo');
  t.same(
    { ...msg?.systemAttributes },
    {
      SentTimestamp: String(sentAt),
      ApproximateReceiveCount: '1',
      ApproximateFirstReceiveTimestamp: String(sentAt + 500),
      SequenceNumber: sent.sequenceNumber,
      MessageDeduplicationId: 'dedup-1',
      MessageGroupId: 'group-1',
    },
  );
});
