/**
 * The SQS JSON protocol end to end: the unchanged @aws-sdk/client-sqs (which checks every MD5)
 * against a real local Conveyor (ZooKeeper, a 3-node cluster, the metadata service, a frontend).
 */
import t from 'tap';
import {
  SQSClient,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
} from '@aws-sdk/client-sqs';
import { md5OfMessageAttributes } from '@conveyor/client-sdk';
import { TEST_CREDENTIALS, signedHeaders, sqsError, startStack } from '../support/index.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';


t.test('@aws-sdk/client-sqs against a local Conveyor', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const sqs = new SQSClient({ endpoint: stack.endpoint, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS }, maxAttempts: 1 });
  t.teardown(() => sqs.destroy());

  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders', Attributes: { VisibilityTimeout: '20' }, tags: { team: 'core' } }));
  t.equal(QueueUrl, `${stack.endpoint}/000000000000/orders`, 'CreateQueue answers a queue URL naming this frontend');
  t.equal((await sqs.send(new CreateQueueCommand({ QueueName: 'orders', Attributes: { VisibilityTimeout: '20' } }))).QueueUrl, QueueUrl, 'creating it again with equal attributes is idempotent');
  const exists = await sqsError(sqs.send(new CreateQueueCommand({ QueueName: 'orders', Attributes: { VisibilityTimeout: '21' } })));
  t.equal(exists.name, 'QueueNameExists', `a different attribute is QueueNameExists (${exists.message})`);
  t.equal((await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }))).QueueUrl, QueueUrl, 'GetQueueUrl');
  t.ok((await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'ord' }))).QueueUrls?.includes(QueueUrl!), 'ListQueues with a prefix');

  await t.test('messages', async (t) => {
    const attrs = { color: { DataType: 'String', StringValue: 'blue' }, size: { DataType: 'Number', StringValue: '42' }, blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2, 3]) } };
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello', MessageAttributes: attrs }));
    t.equal(sent.MD5OfMessageBody, '5d41402abc4b2a76b9719d911017c592', 'MD5OfMessageBody');
    t.equal(sent.MD5OfMessageAttributes, md5OfMessageAttributes({ color: attrs.color, size: attrs.size, blob: attrs.blob }), 'MD5OfMessageAttributes');
    const batch = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'a', MessageBody: 'one' }, { Id: 'b', MessageBody: 'two' }, { Id: 'c', MessageBody: 'x'.repeat(1_048_577) }] }));
    t.same(batch.Successful?.map((s) => s.Id).sort(), ['a', 'b'], 'good entries succeed');
    t.same(batch.Failed?.map((f) => [f.Id, f.Code]), [['c', 'InvalidParameterValue']], 'an oversized entry fails alone');

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['color'], MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'] }));
    t.equal(received.Messages?.length, 3, 'all three are received');
    const hello = received.Messages!.find((m) => m.Body === 'hello')!;
    t.same(Object.keys(hello.MessageAttributes ?? {}), ['color'], 'only the requested message attribute is returned');
    t.equal(hello.MD5OfMessageAttributes, md5OfMessageAttributes({ color: attrs.color }), 'and its MD5 covers only that one');
    t.same(Object.keys(hello.Attributes ?? {}).sort(), ['ApproximateReceiveCount', 'SentTimestamp'], 'only the requested system attributes');
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: hello.ReceiptHandle, VisibilityTimeout: 0 }));
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'] }));
    t.equal(again.Messages?.[0]?.Body, 'hello', 'visibility 0 makes it visible at once');
    t.equal(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount, '2', 'its receive count is 2');
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: again.Messages![0]!.ReceiptHandle }));
    const del = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: [...received.Messages!.filter((m) => m.Body !== 'hello').map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })), { Id: 'bad', ReceiptHandle: 'garbage' }] }));
    t.equal(del.Successful?.length, 2, 'a batch delete');
    t.same(del.Failed?.map((f) => [f.Id, f.Code]), [['bad', 'ReceiptHandleIsInvalid']], 'with a per-entry failure for a forged handle');
    const attributes = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }))).Attributes!;
    t.equal(attributes.ApproximateNumberOfMessages, '0', 'the queue is empty');
    t.equal(attributes.VisibilityTimeout, '20', 'attributes as created');
  });

  await t.test('long polling returns when a message arrives', async (t) => {
    const started = Date.now();
    const poll = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));
    await new Promise((r) => setTimeout(r, 300));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'late' }));
    const got = await poll;
    t.equal(got.Messages?.[0]?.Body, 'late', 'the long poll got the message');
    t.ok(Date.now() - started < 5_000, `well before its 10 s wait (${Date.now() - started} ms)`);
    await sqs.send(new PurgeQueueCommand({ QueueUrl }));
  });

  await t.test('a long poll whose client went away takes no message', async (t) => {
    const abort = new AbortController();
    const body = JSON.stringify({ QueueUrl, WaitTimeSeconds: 20 });
    const poll = fetch(stack.endpoint, {
      method: 'POST',
      headers: await signedHeaders(`${stack.endpoint}/`, { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ReceiveMessage' }, body),
      body,
      signal: abort.signal,
    }).catch((e: Error) => e.name);
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    t.equal(await poll, 'AbortError', 'the client gave up on its long poll');
    await new Promise((r) => setTimeout(r, 300));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'for the next one' }));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 2 }));
    t.equal(got.Messages?.[0]?.Body, 'for the next one', 'the abandoned poll ended at the leader instead of taking the message');
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages![0]!.ReceiptHandle }));
  });

  await t.test('FIFO queues', async (t) => {
    const { QueueUrl: fifo } = await sqs.send(new CreateQueueCommand({ QueueName: 'jobs.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' } }));
    const first = await sqs.send(new SendMessageBatchCommand({ QueueUrl: fifo, Entries: ['1', '2', '3'].map((n) => ({ Id: `e${n}`, MessageBody: `job ${n}`, MessageGroupId: 'g' })) }));
    const dup = await sqs.send(new SendMessageCommand({ QueueUrl: fifo, MessageBody: 'job 1', MessageGroupId: 'g' }));
    t.equal(dup.MessageId, first.Successful?.find((s) => s.Id === 'e1')?.MessageId, 'a content duplicate answers the original id');
    const seqs = first.Successful!.map((s) => BigInt(s.SequenceNumber!));
    t.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!, 'sequence numbers increase');
    const a = await sqs.send(new ReceiveMessageCommand({ QueueUrl: fifo, MaxNumberOfMessages: 2 }));
    t.same(a.Messages?.map((m) => m.Body), ['job 1', 'job 2'], 'in order');
    const b = await sqs.send(new ReceiveMessageCommand({ QueueUrl: fifo, MaxNumberOfMessages: 10 }));
    t.same(b.Messages ?? [], [], 'the group is locked while messages are in flight');
    const missing = await sqsError(sqs.send(new SendMessageCommand({ QueueUrl: fifo, MessageBody: 'x' })));
    t.equal(missing.name, 'MissingParameter', 'MessageGroupId is required');
    // A retried receive (same ReceiveRequestAttemptId) gets the same messages, bodies and attributes
    // as the leader read them out of their send record the first time.
    const { QueueUrl: retried } = await sqs.send(new CreateQueueCommand({ QueueName: 'retried.fifo', Attributes: { FifoQueue: 'true' } }));
    const attributes = { colour: { DataType: 'String', StringValue: 'teal' }, blob: { DataType: 'Binary', BinaryValue: Uint8Array.from([1, 2, 3]) } };
    await sqs.send(new SendMessageCommand({ QueueUrl: retried, MessageBody: 'once ✓', MessageGroupId: 'g', MessageDeduplicationId: 'd1', MessageAttributes: attributes }));
    const receive = () => sqs.send(new ReceiveMessageCommand({ QueueUrl: retried, ReceiveRequestAttemptId: 'attempt-1', MessageAttributeNames: ['All'], VisibilityTimeout: 60 }));
    const firstTry = await receive();
    const secondTry = await receive();
    t.equal(firstTry.Messages?.[0]?.Body, 'once ✓', 'the body, read from its send record');
    t.equal(firstTry.Messages?.[0]?.MessageAttributes?.colour?.StringValue, 'teal', 'with its attributes');
    t.same([...(firstTry.Messages?.[0]?.MessageAttributes?.blob?.BinaryValue ?? [])], [1, 2, 3]);
    t.same(secondTry.Messages, firstTry.Messages, 'the retry gets the same message, handle, body and attributes');
  });

  await t.test('attributes, tags and dead-letter sources', async (t) => {
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { DelaySeconds: '3' } }));
    t.equal((await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['DelaySeconds'] }))).Attributes?.DelaySeconds, '3', 'SetQueueAttributes');
    await sqs.send(new TagQueueCommand({ QueueUrl, Tags: { env: 'test' } }));
    await sqs.send(new UntagQueueCommand({ QueueUrl, TagKeys: ['team'] }));
    t.same((await sqs.send(new ListQueueTagsCommand({ QueueUrl }))).Tags, { env: 'test' }, 'tags');
    const { QueueUrl: dlq } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders-dlq' }));
    const { QueueUrl: src } = await sqs.send(new CreateQueueCommand({ QueueName: 'orders-src', Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:local:000000000000:orders-dlq', maxReceiveCount: 1 }) } }));
    t.same((await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: dlq }))).queueUrls, [src], 'ListDeadLetterSourceQueues');
  });

  await t.test('fair queues, delays and dead-letter redrive', async (t) => {
    const { QueueUrl: fair } = await sqs.send(new CreateQueueCommand({ QueueName: 'fair' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: fair, MessageBody: 'tenant a', MessageGroupId: 'tenant-a' }));
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: fair, MessageSystemAttributeNames: ['MessageGroupId'] }));
    t.equal(got.Messages?.[0]?.Attributes?.MessageGroupId, 'tenant-a', 'a standard queue accepts and returns MessageGroupId');

    await sqs.send(new SendMessageCommand({ QueueUrl: fair, MessageBody: 'later', DelaySeconds: 2 }));
    const attrs = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: fair, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }))).Attributes;
    t.equal(attrs?.ApproximateNumberOfMessagesDelayed, '1', 'a delayed message is counted as delayed');
    t.same((await sqs.send(new ReceiveMessageCommand({ QueueUrl: fair }))).Messages ?? [], [], 'and is not received before its delay');
    const delayed = await sqs.send(new ReceiveMessageCommand({ QueueUrl: fair, WaitTimeSeconds: 5 }));
    t.equal(delayed.Messages?.[0]?.Body, 'later', 'but after it');

    await sqs.send(new CreateQueueCommand({ QueueName: 'redrive-dlq' }));
    const { QueueUrl: source } = await sqs.send(new CreateQueueCommand({ QueueName: 'redrive-src', Attributes: { VisibilityTimeout: '0', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:local:000000000000:redrive-dlq', maxReceiveCount: 2 }) } }));
    await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: 'poison' }));
    t.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: source }))).Messages?.length, 1, 'first delivery');
    t.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl: source }))).Messages?.length, 1, 'second delivery');
    t.same((await sqs.send(new ReceiveMessageCommand({ QueueUrl: source }))).Messages ?? [], [], 'after maxReceiveCount deliveries it is gone from the source');
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: `${stack.endpoint}/000000000000/redrive-dlq`, MessageSystemAttributeNames: ['All'] }));
    t.equal(dead.Messages?.[0]?.Body, 'poison', 'and in the dead-letter queue');
    t.equal(dead.Messages?.[0]?.Attributes?.DeadLetterQueueSourceArn, 'arn:aws:sqs:local:000000000000:redrive-src', 'naming where it came from');
  });

  await t.test('errors are shaped as SQS shapes them', async (t) => {
    const missing = await sqsError(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })));
    t.same([missing.name, missing.code, missing.status], ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 400], 'QueueDoesNotExist');
    const tooMany = await sqsError(sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: 'x' })) })));
    t.equal(tooMany.name, 'TooManyEntriesInBatchRequest', 'TooManyEntriesInBatchRequest');
    const badId = await sqsError(sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'bad id!', MessageBody: 'x' }] })));
    t.equal(badId.name, 'InvalidBatchEntryId', 'InvalidBatchEntryId');
    const badHandle = await sqsError(sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: 'garbage' })));
    t.equal(badHandle.name, 'ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid');
    const badMax = await sqsError(sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })));
    t.equal(badMax.message, 'Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.', 'SQS reason texts');
  });

  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  const gone = await sqsError(sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' })));
  t.equal(gone.name, 'QueueDoesNotExist', 'DeleteQueue');
});
