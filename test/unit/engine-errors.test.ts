/**
 * Error scenarios (SQS-REFERENCE.md §1.2, §1.5, §1.7): batch rules, per-entry failures, the queue
 * lifecycle and parameter checks.
 */
import t from 'tap';
import { type MessageAttributes } from '@conveyor/client-sdk/wire';

import { openEngineFor, rejection } from '../support/index.ts';

const open = openEngineFor;

const entries = (n: number): Array<{ id: string; body: string }> => Array.from({ length: n }, (_, i) => ({ id: `e${i}`, body: `m${i}` }));
const ENTRY_ID_TEXT = 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.';

t.test('SendMessageBatch without entries is EmptyBatchRequest', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const err = await rejection(engine.sendMessageBatch('q', []));
  t.equal(err.code, 'EmptyBatchRequest');
  t.equal(err.status, 400);
});

t.test('SendMessageBatch with 11 entries is TooManyEntriesInBatchRequest; 10 is fine', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const err = await rejection(engine.sendMessageBatch('q', entries(11)));
  t.equal(err.code, 'TooManyEntriesInBatchRequest');
  t.equal(err.message, 'Maximum number of entries per request are 10. You have sent 11.');
  t.equal((await engine.describeQueue('q')).counts.visible, 0, 'nothing sent');

  const ok = await engine.sendMessageBatch('q', entries(10));
  t.equal(ok.successful.length, 10);
  t.equal((await engine.describeQueue('q')).counts.visible, 10);
});

t.test('SendMessageBatch with repeated ids is BatchEntryIdsNotDistinct', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const err = await rejection(engine.sendMessageBatch('q', [{ id: 'a', body: 'x' }, { id: 'b', body: 'y' }, { id: 'a', body: 'z' }]));
  t.equal(err.code, 'BatchEntryIdsNotDistinct');
  t.equal((await engine.describeQueue('q')).counts.visible, 0, 'nothing sent');
});

t.test('SendMessageBatch with a malformed id is InvalidBatchEntryId', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  for (const id of ['', 'has space', 'dot.ted', 'x'.repeat(81), 'ümlaut']) {
    const err = await rejection(engine.sendMessageBatch('q', [{ id: 'fine', body: 'x' }, { id, body: 'y' }]));
    t.equal(err.code, 'InvalidBatchEntryId', JSON.stringify(id));
    t.equal(err.message, ENTRY_ID_TEXT);
  }
  const ok = await engine.sendMessageBatch('q', [{ id: `A-z_0${'9'.repeat(75)}`, body: 'x' }]);
  t.equal(ok.successful.length, 1, 'an 80-character id of every allowed kind is fine');
  t.equal((await engine.describeQueue('q')).counts.visible, 1, 'only the valid batch was sent');
});

t.test('SendMessageBatch over 1 MiB in total is BatchRequestTooLong', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const half = 'a'.repeat(524_288);
  const err = await rejection(engine.sendMessageBatch('q', [{ id: 'a', body: half }, { id: 'b', body: half }, { id: 'c', body: 'x' }]));
  t.equal(err.code, 'BatchRequestTooLong');
  t.equal(err.message, 'Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.');
  t.equal((await engine.describeQueue('q')).counts.visible, 0, 'nothing sent');

  const ok = await engine.sendMessageBatch('q', [{ id: 'a', body: half }, { id: 'b', body: half }]);
  t.equal(ok.successful.length, 2, 'exactly 1 MiB is allowed');
});

t.test('message attributes count toward the SendMessageBatch total', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const attributes: MessageAttributes = { a: { DataType: 'String', StringValue: 'v' } }; // 1 + 6 + 1 = 8 bytes
  const body = 'a'.repeat(524_284);
  const err = await rejection(engine.sendMessageBatch('q', [{ id: 'a', body, attributes }, { id: 'b', body, attributes }]));
  t.equal(err.code, 'BatchRequestTooLong');
  t.equal(err.message, 'Batch requests cannot be longer than 1048576 bytes. You have sent 1048584 bytes.');
});

t.test('one bad entry among good ones fails alone, with its own code', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const result = await engine.sendMessageBatch('q', [
    { id: 'good1', body: 'one' },
    { id: 'empty', body: '' },
    { id: 'good2', body: 'two' },
    { id: 'delay', body: 'x', delaySeconds: 901 },
    { id: 'control', body: 'bad \u0000 char' },
    { id: 'dedup', body: 'x', dedupId: 'not-on-standard' },
    { id: 'attr', body: 'x', attributes: { 'AWS.reserved': { DataType: 'String', StringValue: 'v' } } },
  ]);
  t.same(result.successful.map((s) => s.id), ['good1', 'good2']);
  t.same(
    result.failed.map((f) => [f.id, f.code, f.senderFault]),
    [
      ['empty', 'MissingParameter', true],
      ['delay', 'InvalidParameterValue', true],
      ['control', 'InvalidMessageContents', true],
      ['dedup', 'InvalidParameterValue', true],
      ['attr', 'InvalidParameterValue', true],
    ],
  );
  t.equal(result.failed[0]?.message, 'The request must contain the parameter MessageBody.');
  t.equal(result.failed[1]?.message, 'Value 901 for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= 900, if provided.');
  t.same((await engine.receiveMessage('q', { maxMessages: 10 })).map((m) => m.body).sort(), ['one', 'two']);
});

t.test('an entry over the queue MaximumMessageSize fails alone', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q', { MaximumMessageSize: '1024' });
  const result = await engine.sendMessageBatch('q', [
    { id: 'small', body: 'x'.repeat(1024) },
    { id: 'large', body: 'x'.repeat(1025) },
  ]);
  t.same(result.successful.map((s) => s.id), ['small']);
  t.same(result.failed, [{ id: 'large', code: 'InvalidParameterValue', senderFault: true, message: 'One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.' }]);
});

t.test('FIFO SendMessageBatch: entries without a group fail alone, the rest keep their order', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  const result = await engine.sendMessageBatch('q.fifo', [
    { id: 'a', body: 'first', groupId: 'g' },
    { id: 'b', body: 'no group' },
    { id: 'c', body: 'second', groupId: 'g' },
    { id: 'd', body: 'delayed', groupId: 'g', delaySeconds: 1 },
  ]);
  t.same(result.successful.map((s) => s.id), ['a', 'c']);
  t.same(result.failed.map((f) => [f.id, f.code]), [['b', 'MissingParameter'], ['d', 'InvalidParameterValue']]);
  t.equal(result.failed[0]?.message, 'The request must contain the parameter MessageGroupId.');
  t.same((await engine.receiveMessage('q.fifo', { maxMessages: 10 })).map((m) => m.body), ['first', 'second']);
});

t.test('DeleteMessageBatch: invalid handles fail per entry, valid ones delete', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.createQueue('other');
  await engine.sendMessageBatch('q', entries(3));
  await engine.sendMessage('other', { body: 'elsewhere' });
  const got = await engine.receiveMessage('q', { maxMessages: 10 });
  const [foreign] = await engine.receiveMessage('other');
  t.equal(got.length, 3);

  const result = await engine.deleteMessageBatch('q', [
    { id: 'first', receiptHandle: got[0]!.receiptHandle },
    { id: 'garbage', receiptHandle: 'garbage' },
    { id: 'second', receiptHandle: got[1]!.receiptHandle },
    { id: 'foreign', receiptHandle: foreign!.receiptHandle },
  ]);
  t.same(result.successful, [{ id: 'first' }, { id: 'second' }]);
  t.same(result.failed, [
    { id: 'garbage', code: 'ReceiptHandleIsInvalid', senderFault: true, message: 'The input receipt handle "garbage" is not a valid receipt handle.' },
    { id: 'foreign', code: 'ReceiptHandleIsInvalid', senderFault: true, message: `The input receipt handle "${foreign!.receiptHandle}" is not a valid receipt handle.` },
  ]);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 }, 'the third message is left');
  t.same((await engine.describeQueue('other')).counts, { visible: 0, inflight: 1, delayed: 0 });
});

t.test('DeleteMessageBatch: the same handle twice in one batch deletes once, both succeed', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  const result = await engine.deleteMessageBatch('q', [
    { id: 'a', receiptHandle: msg!.receiptHandle },
    { id: 'b', receiptHandle: msg!.receiptHandle },
  ]);
  t.same(result.successful, [{ id: 'a' }, { id: 'b' }]);
  t.same(result.failed, []);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 });
});

t.test('DeleteMessageBatch on a FIFO queue: an expired handle fails per entry', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q.fifo', { FifoQueue: 'true', VisibilityTimeout: '10' });
  await engine.sendMessage('q.fifo', { body: 'old', groupId: 'g1', dedupId: 'd1' });
  const [old] = await engine.receiveMessage('q.fifo');
  clock.advance(10_000);
  await engine.sendMessage('q.fifo', { body: 'fresh', groupId: 'g2', dedupId: 'd2' });
  const got = await engine.receiveMessage('q.fifo', { maxMessages: 10 });
  const fresh = got.find((m) => m.body === 'fresh');
  const result = await engine.deleteMessageBatch('q.fifo', [
    { id: 'expired', receiptHandle: old!.receiptHandle },
    { id: 'fresh', receiptHandle: fresh!.receiptHandle },
  ]);
  t.same(result.successful, [{ id: 'fresh' }]);
  t.equal(result.failed[0]?.id, 'expired');
  t.equal(result.failed[0]?.code, 'InvalidParameterValue');
  t.match(result.failed[0]?.message, /Reason: The receipt handle has expired\.$/);
});

t.test('ChangeMessageVisibilityBatch: per-entry failures, the rest applied', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '30' });
  await engine.sendMessageBatch('q', entries(3));
  const got = await engine.receiveMessage('q', { maxMessages: 10 });
  const byBody = new Map(got.map((m) => [m.body, m]));

  const result = await engine.changeMessageVisibilityBatch('q', [
    { id: 'show', receiptHandle: byBody.get('m0')!.receiptHandle, visibilityTimeoutSeconds: 0 },
    { id: 'garbage', receiptHandle: 'garbage', visibilityTimeoutSeconds: 0 },
    { id: 'tooLong', receiptHandle: byBody.get('m1')!.receiptHandle, visibilityTimeoutSeconds: 43_201 },
    { id: 'extend', receiptHandle: byBody.get('m2')!.receiptHandle, visibilityTimeoutSeconds: 100 },
  ]);
  t.same(result.successful, [{ id: 'show' }, { id: 'extend' }]);
  t.same(result.failed.map((f) => [f.id, f.code]), [['garbage', 'ReceiptHandleIsInvalid'], ['tooLong', 'InvalidParameterValue']]);
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 2, delayed: 0 }, 'm0 visible at once');

  clock.advance(30_000);
  t.same((await engine.receiveMessage('q', { maxMessages: 10, visibilityTimeoutSeconds: 0 })).map((m) => m.body).sort(), ['m0', 'm1'], 'm1 kept its old timeout, m2 was extended');
  clock.advance(70_000);
  t.equal((await engine.describeQueue('q')).counts.visible, 3);
});

t.test('ChangeMessageVisibilityBatch: the same handle twice in one batch, the later change wins', async (t) => {
  const { engine, clock } = await open(t);
  await engine.createQueue('q', { VisibilityTimeout: '30' });
  await engine.sendMessage('q', { body: 'x' });
  const [msg] = await engine.receiveMessage('q');
  const result = await engine.changeMessageVisibilityBatch('q', [
    { id: 'first', receiptHandle: msg!.receiptHandle, visibilityTimeoutSeconds: 0 },
    { id: 'later', receiptHandle: msg!.receiptHandle, visibilityTimeoutSeconds: 60 },
  ]);
  t.same(result.successful, [{ id: 'first' }, { id: 'later' }]);
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 1, delayed: 0 }, 'not visible at once');
  clock.advance(59_000);
  t.equal((await engine.describeQueue('q')).counts.visible, 0, 'still hidden by the later change');
  clock.advance(1_000);
  t.equal((await engine.describeQueue('q')).counts.visible, 1);
});

t.test('ChangeMessageVisibilityBatch: a stale handle fails per entry', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const [first] = await engine.receiveMessage('q', { visibilityTimeoutSeconds: 0 });
  const [second] = await engine.receiveMessage('q');
  const result = await engine.changeMessageVisibilityBatch('q', [
    { id: 'stale', receiptHandle: first!.receiptHandle, visibilityTimeoutSeconds: 0 },
    { id: 'latest', receiptHandle: second!.receiptHandle, visibilityTimeoutSeconds: 60 },
  ]);
  t.same(result.successful, [{ id: 'latest' }]);
  t.same(result.failed.map((f) => [f.id, f.code]), [['stale', 'InvalidParameterValue']]);
  t.equal((await engine.describeQueue('q')).counts.inflight, 1);
});

t.test('DeleteMessageBatch and ChangeMessageVisibilityBatch check batch-level rules', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const handle = { receiptHandle: 'garbage', visibilityTimeoutSeconds: 0 };
  t.equal((await rejection(engine.deleteMessageBatch('q', []))).code, 'EmptyBatchRequest');
  t.equal((await rejection(engine.changeMessageVisibilityBatch('q', []))).code, 'EmptyBatchRequest');
  const eleven = Array.from({ length: 11 }, (_, i) => ({ id: `e${i}`, ...handle }));
  t.equal((await rejection(engine.deleteMessageBatch('q', eleven))).code, 'TooManyEntriesInBatchRequest');
  t.equal((await rejection(engine.changeMessageVisibilityBatch('q', eleven))).code, 'TooManyEntriesInBatchRequest');
  const repeated = [{ id: 'a', ...handle }, { id: 'a', ...handle }];
  t.equal((await rejection(engine.deleteMessageBatch('q', repeated))).code, 'BatchEntryIdsNotDistinct');
  t.equal((await rejection(engine.changeMessageVisibilityBatch('q', repeated))).code, 'BatchEntryIdsNotDistinct');
  const badId = [{ id: 'no/slash', ...handle }];
  t.equal((await rejection(engine.deleteMessageBatch('q', badId))).code, 'InvalidBatchEntryId');
  t.equal((await rejection(engine.changeMessageVisibilityBatch('q', badId))).code, 'InvalidBatchEntryId');
});

t.test('CreateQueue is idempotent with equal attributes', async (t) => {
  const { engine, clock } = await open(t);
  const first = await engine.createQueue('q', { VisibilityTimeout: '45', DelaySeconds: '5' });
  await engine.sendMessage('q', { body: 'kept' });
  clock.advance(1_000);
  const again = await engine.createQueue('q', { DelaySeconds: '5', VisibilityTimeout: '45' });
  t.equal(again.queueId, first.queueId);
  t.equal(again.arn, first.arn);
  t.equal(again.createdAt, first.createdAt);
  t.equal((await engine.describeQueue('q')).counts.delayed, 1, 'the existing queue and its messages are kept');
  t.same(engine.listQueues(), ['q']);
});

t.test('CreateQueue with a different attribute value is QueueNameExists', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q', { DelaySeconds: '5' });
  const err = await rejection(engine.createQueue('q', { DelaySeconds: '6' }));
  t.equal(err.code, 'QueueNameExists');
  t.equal(err.message, 'A queue already exists with the same name and a different value for attribute DelaySeconds');
  t.equal((await engine.describeQueue('q')).config.delayMs, 5_000, 'the queue is unchanged');

  await engine.createQueue('q.fifo', { FifoQueue: 'true' });
  const fifo = await rejection(engine.createQueue('q.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' }));
  t.equal(fifo.code, 'QueueNameExists');
  t.equal(fifo.message, 'A queue already exists with the same name and a different value for attribute ContentBasedDeduplication');
});

t.test('queue names and attributes are checked on CreateQueue', async (t) => {
  const { engine } = await open(t);
  t.equal((await rejection(engine.createQueue('bad name'))).code, 'InvalidParameterValue');
  t.equal((await rejection(engine.createQueue('x'.repeat(81)))).code, 'InvalidParameterValue');
  t.equal((await rejection(engine.createQueue('q.fifo'))).code, 'InvalidAttributeValue', 'a .fifo name needs FifoQueue=true');
  t.equal((await rejection(engine.createQueue('q', { FifoQueue: 'true' }))).code, 'InvalidAttributeValue', 'FifoQueue=true needs a .fifo name');
  t.equal((await rejection(engine.createQueue('q', { Bogus: '1' }))).code, 'InvalidAttributeName');
  t.equal((await rejection(engine.createQueue('q', { ContentBasedDeduplication: 'true' }))).code, 'InvalidAttributeName', 'FIFO-only attribute on a standard queue');
  t.equal((await rejection(engine.createQueue('q', { VisibilityTimeout: '43201' }))).code, 'InvalidAttributeValue');
  t.equal((await rejection(engine.createQueue('q', { MessageRetentionPeriod: '59' }))).code, 'InvalidAttributeValue');
  t.same(engine.listQueues(), [], 'nothing was created');
});

t.test('operations on a missing queue are QueueDoesNotExist', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('gone');
  await engine.sendMessage('gone', { body: 'x' });
  const [msg] = await engine.receiveMessage('gone');
  await engine.deleteQueue('gone');
  const handle = msg!.receiptHandle;

  for (const name of ['missing', 'gone']) {
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['setQueueAttributes', () => engine.setQueueAttributes(name, { DelaySeconds: '1' })],
      ['deleteQueue', () => engine.deleteQueue(name)],
      ['describeQueue', () => engine.describeQueue(name)],
      ['sendMessage', () => engine.sendMessage(name, { body: 'x' })],
      ['sendMessageBatch', () => engine.sendMessageBatch(name, [{ id: 'a', body: 'x' }])],
      ['receiveMessage', () => engine.receiveMessage(name)],
      ['receiveMessage (long poll)', () => engine.receiveMessage(name, { waitTimeSeconds: 1 })],
      ['deleteMessage', () => engine.deleteMessage(name, handle)],
      ['deleteMessageBatch', () => engine.deleteMessageBatch(name, [{ id: 'a', receiptHandle: handle }])],
      ['changeMessageVisibility', () => engine.changeMessageVisibility(name, handle, 0)],
      ['changeMessageVisibilityBatch', () => engine.changeMessageVisibilityBatch(name, [{ id: 'a', receiptHandle: handle, visibilityTimeoutSeconds: 0 }])],
      ['purgeQueue', () => engine.purgeQueue(name)],
    ];
    for (const [what, call] of calls) {
      const err = await rejection(call());
      t.equal(err.code, 'QueueDoesNotExist', `${what} on ${name}`);
      t.equal(err.message, 'The specified queue does not exist.');
    }
  }
  t.same(engine.listQueues(), []);
});

t.test('SetQueueAttributes cannot change FifoQueue', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q.fifo', { FifoQueue: 'true' });
  await engine.createQueue('q');
  const text = 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.';
  const fifo = await rejection(engine.setQueueAttributes('q.fifo', { FifoQueue: 'false' }));
  t.equal(fifo.code, 'InvalidAttributeValue');
  t.equal(fifo.message, text);
  const standard = await rejection(engine.setQueueAttributes('q', { FifoQueue: 'true' }));
  t.equal(standard.code, 'InvalidAttributeValue');
  t.equal(standard.message, text);
  t.equal((await engine.describeQueue('q.fifo')).config.fifo, true);
  t.equal((await engine.describeQueue('q')).config.fifo, false);
  await engine.setQueueAttributes('q.fifo', { FifoQueue: 'true', VisibilityTimeout: '7' });
  t.equal((await engine.describeQueue('q.fifo')).config.visibilityTimeoutMs, 7_000, 'restating the same type is fine');
});

t.test('SetQueueAttributes changes the queue and its LastModifiedTimestamp', async (t) => {
  const { engine, clock } = await open(t);
  const created = await engine.createQueue('q');
  clock.advance(5_000);
  await engine.setQueueAttributes('q', { VisibilityTimeout: '5', DelaySeconds: '2' });
  const d = await engine.describeQueue('q');
  t.equal(d.config.visibilityTimeoutMs, 5_000);
  t.equal(d.config.delayMs, 2_000);
  t.equal(d.createdAt, created.createdAt);
  t.equal(d.lastModifiedAt, created.createdAt + 5_000);
  t.equal((await rejection(engine.setQueueAttributes('q', { DelaySeconds: '901' }))).code, 'InvalidAttributeValue');
  t.equal((await engine.describeQueue('q')).config.delayMs, 2_000, 'a refused change changes nothing');
});

t.test('DeleteQueue removes the queue and its messages', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  await engine.deleteQueue('q');
  t.same(engine.listQueues(), []);
  await engine.createQueue('q');
  t.same((await engine.describeQueue('q')).counts, { visible: 0, inflight: 0, delayed: 0 }, 'a new queue of the same name starts empty');
});

t.test('ReceiveMessage parameters are range-checked', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'x' });
  const max = await rejection(engine.receiveMessage('q', { maxMessages: 11 }));
  t.equal(max.code, 'InvalidParameterValue');
  t.equal(max.message, 'Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.');
  t.equal((await rejection(engine.receiveMessage('q', { maxMessages: 0 }))).code, 'InvalidParameterValue');
  const wait = await rejection(engine.receiveMessage('q', { waitTimeSeconds: 21 }));
  t.equal(wait.code, 'InvalidParameterValue');
  t.equal(wait.message, 'Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.');
  t.equal((await rejection(engine.receiveMessage('q', { visibilityTimeoutSeconds: 43_201 }))).code, 'InvalidParameterValue');
  t.same((await engine.describeQueue('q')).counts, { visible: 1, inflight: 0, delayed: 0 }, 'refused receives took nothing');
});

t.test('SendMessage checks the body and its size', async (t) => {
  const { engine } = await open(t);
  await engine.createQueue('q');
  const empty = await rejection(engine.sendMessage('q', { body: '' }));
  t.equal(empty.code, 'MissingParameter');
  t.equal(empty.message, 'The request must contain the parameter MessageBody.');
  t.equal((await rejection(engine.sendMessage('q', { body: 'bell \u0007' }))).code, 'InvalidMessageContents');
  const big = await rejection(engine.sendMessage('q', { body: 'x'.repeat(1_048_577) }));
  t.equal(big.code, 'InvalidParameterValue');
  t.equal(big.message, 'One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.');
  await engine.sendMessage('q', { body: 'x'.repeat(1_048_576) });
  const withAttribute = await rejection(engine.sendMessage('q', { body: 'x'.repeat(1_048_570), attributes: { n: { DataType: 'String', StringValue: 'v' } } }));
  t.equal(withAttribute.code, 'InvalidParameterValue', 'attributes count toward the size');
  t.equal((await engine.describeQueue('q')).counts.visible, 1);
});
