/**
 * Message move tasks (DLQ redrive) end to end: the unchanged @aws-sdk/client-sqs against a real
 * local Conveyor (ZooKeeper, a 3-node cluster, the metadata service, a frontend). Messages reach
 * a dead-letter queue the way SQS puts them there (maxReceiveCount 1, received twice), then
 * StartMessageMoveTask moves them back to their source or on to another queue; tasks are listed,
 * cancelled and fail as SQS-REFERENCE.md §1.2, §1.6 and §1.7 say.
 */
import t from 'tap';
import {
  SQSClient,
  CancelMessageMoveTaskCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { encodeTaskHandle } from '../../metadata-service/src/core/move-tasks.ts';
import { TEST_CREDENTIALS, sqsError, startStack } from '../support/index.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';


/** Polls `check` until it answers a value, failing with `what` after `timeoutMs`. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('message move tasks through @aws-sdk/client-sqs', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const sqs = new SQSClient({ endpoint: stack.endpoint, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS }, maxAttempts: 1 });
  t.teardown(() => sqs.destroy());

  const counts = async (url: string) => {
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes!;
    return { visible: Number(a.ApproximateNumberOfMessages), inflight: Number(a.ApproximateNumberOfMessagesNotVisible), arn: a.QueueArn! };
  };
  const createQueue = async (name: string, attributes: Record<string, string> = {}) => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return { url: QueueUrl!, arn: (await counts(QueueUrl!)).arn };
  };
  /** A source queue with a DLQ (maxReceiveCount 1). */
  const pipe = async (prefix: string, fifo = false) => {
    const suffix = fifo ? '.fifo' : '';
    const type: Record<string, string> = fifo ? { FifoQueue: 'true' } : {};
    const dlq = await createQueue(`${prefix}-dlq${suffix}`, type);
    const source = await createQueue(`${prefix}-src${suffix}`, { ...type, RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 }) });
    return { dlq, source };
  };
  /** Sends the entries to `source` and receives until every one has moved to `dlq` (delivered once, then dead-lettered). */
  const deadLetter = async (source: string, dlq: string, entries: Array<{ body: string; attributes?: Record<string, MessageAttributeValue>; group?: string; dedup?: string }>) => {
    for (let i = 0; i < entries.length; i += 10) {
      const sent = await sqs.send(new SendMessageBatchCommand({
        QueueUrl: source,
        Entries: entries.slice(i, i + 10).map((e, k) => ({ Id: `e${k}`, MessageBody: e.body, MessageAttributes: e.attributes, MessageGroupId: e.group, MessageDeduplicationId: e.dedup })),
      }));
      if ((sent.Failed ?? []).length > 0) throw new Error(`send failed: ${JSON.stringify(sent.Failed)}`);
    }
    await waitFor(`${entries.length} messages in the DLQ`, async () => {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: source, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
      const [s, d] = await Promise.all([counts(source), counts(dlq)]);
      return s.visible + s.inflight === 0 && d.visible === entries.length ? true : undefined;
    });
  };
  /** Receives (and deletes nothing) until `n` messages were seen; bounded. */
  const receiveAll = async (url: string, n: number, extra: { fifo?: boolean } = {}): Promise<Message[]> => {
    const seen = new Map<string, Message>();
    await waitFor(`${n} messages in ${url}`, async () => {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], WaitTimeSeconds: extra.fifo ? 0 : 1 }));
      for (const m of got.Messages ?? []) seen.set(m.MessageId!, m);
      return seen.size >= n ? true : undefined;
    });
    return [...seen.values()];
  };
  const tasksOf = async (sourceArn: string, max?: number) => (await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: max }))).Results ?? [];
  const waitForStatus = (sourceArn: string, status: string, timeoutMs = 20_000) =>
    waitFor<ListMessageMoveTasksResultEntry>(`a task of ${sourceArn} to be ${status}`, async () => {
      const [latest] = await tasksOf(sourceArn, 1);
      return latest?.Status === status ? latest : undefined;
    }, timeoutMs);

  const color = (n: number): Record<string, MessageAttributeValue> => ({ color: { DataType: 'String', StringValue: `c${n}` }, blob: { DataType: 'Binary', BinaryValue: new Uint8Array([n, 255]) } });

  await t.test('without a destination, messages go back to their source queue', async (t) => {
    const { dlq, source } = await pipe('back');
    const bodies = Array.from({ length: 12 }, (_, i) => `back ${i} ${'x'.repeat(i * 100)}`);
    await deadLetter(source.url, dlq.url, bodies.map((body, i) => ({ body, attributes: color(i) })));
    const started = Date.now();
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    t.ok(TaskHandle && TaskHandle.length > 0, 'StartMessageMoveTask answers a TaskHandle');

    const done = await waitForStatus(dlq.arn, 'COMPLETED');
    t.same(
      { ...done, StartedTimestamp: undefined },
      { Status: 'COMPLETED', SourceArn: dlq.arn, ApproximateNumberOfMessagesMoved: 12, ApproximateNumberOfMessagesToMove: 12, StartedTimestamp: undefined },
      'COMPLETED with the moved count, no DestinationArn, no rate, no handle',
    );
    t.ok(done.StartedTimestamp! >= started - 5_000 && done.StartedTimestamp! <= Date.now(), `StartedTimestamp is epoch milliseconds (${done.StartedTimestamp})`);

    const back = await receiveAll(source.url, 12);
    t.same(back.map((m) => m.Body).sort(), [...bodies].sort(), 'every body is back in the source, intact');
    for (const m of back) {
      const i = bodies.indexOf(m.Body!);
      t.same(m.MessageAttributes, { color: { DataType: 'String', StringValue: `c${i}` }, blob: { DataType: 'Binary', BinaryValue: new Uint8Array([i, 255]) } }, `message attributes of message ${i} are kept`);
      t.equal(m.Attributes?.ApproximateReceiveCount, '1', 'and it starts over in its source');
    }
    const left = await counts(dlq.url);
    t.same([left.visible, left.inflight], [0, 0], 'the DLQ is empty');
  });

  const { dlq, source } = await pipe('main');
  const third = await createQueue('main-third');

  await t.test('with a DestinationArn, messages go to that queue', async (t) => {
    await deadLetter(source.url, dlq.url, [0, 1, 2, 3, 4].map((i) => ({ body: `to third ${i}`, attributes: color(i) })));
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: third.arn, MaxNumberOfMessagesPerSecond: 100 }));
    t.ok(TaskHandle, 'started');
    const done = await waitForStatus(dlq.arn, 'COMPLETED');
    t.same([done.DestinationArn, done.MaxNumberOfMessagesPerSecond, done.ApproximateNumberOfMessagesMoved, done.ApproximateNumberOfMessagesToMove, done.TaskHandle], [third.arn, 100, 5, 5, undefined], 'COMPLETED, naming its destination and rate');
    const moved = await receiveAll(third.url, 5);
    t.same(moved.map((m) => m.Body).sort(), [0, 1, 2, 3, 4].map((i) => `to third ${i}`), 'the bodies are in the third queue');
    t.same(moved.map((m) => m.MessageAttributes?.color?.StringValue).sort(), ['c0', 'c1', 'c2', 'c3', 'c4'], 'with their attributes');
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: third.url, Entries: moved.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })) }));
    const src = await counts(source.url);
    t.same([src.visible, src.inflight, (await counts(dlq.url)).visible], [0, 0, 0], 'nothing went to the source, nothing is left in the DLQ');
  });

  await t.test('errors are SQS\'s', async (t) => {
    const notDlq = await sqsError(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: third.arn })));
    t.same([notDlq.name, notDlq.status, notDlq.message], ['InvalidParameterValue', 400, 'Source queue must be configured as a Dead Letter Queue.'], 'the source must be a DLQ');
    const noSource = await sqsError(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: `${dlq.arn}-nope` })));
    t.same([noSource.name, noSource.code, noSource.status, noSource.message], ['ResourceNotFoundException', 'ResourceNotFoundException', 404, "The resource that you specified for the SourceArn parameter doesn't exist."], 'a missing source');
    const noDestination = await sqsError(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: `${third.arn}doesntexist` })));
    t.same([noDestination.name, noDestination.status, noDestination.message], ['ResourceNotFoundException', 404, "The resource that you specified for the DestinationArn parameter doesn't exist."], 'a missing destination');
    const fast = await sqsError(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: 501 })));
    t.same([fast.name, fast.status], ['InvalidParameterValue', 400], `at most 500 messages per second (${fast.message})`);
    const garbage = await sqsError(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: 'foobared' })));
    t.same([garbage.name, garbage.message], ['InvalidParameterValue', 'Value for parameter TaskHandle is invalid.'], 'a handle that is not one');
    const unknown = await sqsError(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: encodeTaskHandle('10f57157-fc38-4da9-a113-4de7e12d05aa', dlq.arn) })));
    t.same([unknown.name, unknown.status, unknown.message], ['ResourceNotFoundException', 404, 'Task does not exist.'], 'an unknown task');
    const unknownSource = await sqsError(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle: encodeTaskHandle('10f57157-fc38-4da9-a113-4de7e12d05aa', `${dlq.arn}-gone`) })));
    t.same([unknownSource.name, unknownSource.status], ['ResourceNotFoundException', 404], `a handle naming no source (${unknownSource.message})`);
    const listMax = await sqsError(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlq.arn, MaxResults: 11 })));
    t.equal(listMax.name, 'InvalidParameterValue', 'MaxResults is at most 10');
    const listMissing = await sqsError(sqs.send(new ListMessageMoveTasksCommand({ SourceArn: `${dlq.arn}-nope` })));
    t.same([listMissing.name, listMissing.status], ['ResourceNotFoundException', 404], 'listing a missing source');
  });

  await t.test('a slow task can be cancelled; one active task per source', async (t) => {
    const bodies = Array.from({ length: 40 }, (_, i) => `slow ${i}`);
    await deadLetter(source.url, dlq.url, bodies.map((body) => ({ body })));
    const startedAt = Date.now();
    const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn, DestinationArn: third.arn, MaxNumberOfMessagesPerSecond: 1 }));
    const second = await sqsError(sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn })));
    t.same([second.name, second.message], ['InvalidParameterValue', 'There is already a task running. Only one active task is allowed for a source queue arn at a given time.'], 'a second task is refused while one runs');

    const [running] = await tasksOf(dlq.arn, 1);
    t.same([running?.Status, running?.TaskHandle, running?.MaxNumberOfMessagesPerSecond, running?.ApproximateNumberOfMessagesToMove], ['RUNNING', TaskHandle, 1, 40], 'RUNNING, with its handle');
    await waitFor('two messages moved', async () => ((await counts(third.url)).visible >= 2 ? true : undefined));
    const cancel = await sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle }));
    const elapsedS = (Date.now() - startedAt) / 1000;
    t.ok(typeof cancel.ApproximateNumberOfMessagesMoved === 'number' && cancel.ApproximateNumberOfMessagesMoved <= 40, `CancelMessageMoveTask answers the moved count (${cancel.ApproximateNumberOfMessagesMoved})`);
    const again = await sqsError(sqs.send(new CancelMessageMoveTaskCommand({ TaskHandle })));
    t.equal(again.name, 'InvalidParameterValue', `only a RUNNING task can be cancelled (${again.message})`);

    const cancelled = await waitForStatus(dlq.arn, 'CANCELLED', 15_000);
    const moved = cancelled.ApproximateNumberOfMessagesMoved!;
    const arrived = (await counts(third.url)).visible;
    t.equal(cancelled.TaskHandle, undefined, 'no handle once it is not RUNNING');
    t.ok(moved >= 2 && moved < 40, `it stopped part-way (${moved} of 40 moved)`);
    t.equal(arrived, moved, 'the count is what arrived');
    t.ok(moved <= Math.ceil((Date.now() - startedAt) / 1000) + 1, `at most one message per second (${moved} in ${elapsedS.toFixed(1)} s to the cancel)`);
    const rest = await counts(dlq.url);
    t.equal(rest.visible + rest.inflight, 40 - moved, 'the rest stays in the DLQ');

    // The source is free again: a task without a rate limit moves the rest back to their source.
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq.arn }));
    const done = await waitForStatus(dlq.arn, 'COMPLETED');
    t.equal(done.ApproximateNumberOfMessagesMoved, 40 - moved, 'a new task after the cancel moves the rest');
    const history = await tasksOf(dlq.arn, 10);
    t.same(history.map((r) => r.Status), ['COMPLETED', 'CANCELLED', 'COMPLETED'], 'ListMessageMoveTasks: most recent first');
    t.equal((await tasksOf(dlq.arn)).length, 1, 'MaxResults defaults to 1');
    t.equal((await counts(source.url)).visible, 40 - moved, 'the rest is back in the source queue');
  });

  await t.test('a task whose destination is deleted fails', async (t) => {
    const { dlq: dlq2, source: source2 } = await pipe('doomed');
    const doomed = await createQueue('doomed-target');
    await deadLetter(source2.url, dlq2.url, Array.from({ length: 10 }, (_, i) => ({ body: `doomed ${i}` })));
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlq2.arn, DestinationArn: doomed.arn, MaxNumberOfMessagesPerSecond: 1 }));
    await waitFor('one message moved', async () => ((await counts(doomed.url)).visible >= 1 ? true : undefined));
    await sqs.send(new DeleteQueueCommand({ QueueUrl: doomed.url }));
    const failed = await waitForStatus(dlq2.arn, 'FAILED', 15_000);
    t.equal(failed.FailureReason, 'AWS.SimpleQueueService.NonExistentQueue', 'FailureReason names the missing queue');
    t.equal(failed.TaskHandle, undefined, 'no handle');
    const rest = await counts(dlq2.url);
    t.ok(rest.visible >= 1 && rest.visible + rest.inflight === 10 - failed.ApproximateNumberOfMessagesMoved!, `the unmoved messages stay in the DLQ, visible (${rest.visible} visible, ${rest.inflight} in flight)`);
  });

  await t.test('FIFO: group ids, dedup ids and order are kept', async (t) => {
    const { dlq: fdlq, source: fsrc } = await pipe('fifo', true);
    const target = await createQueue('fifo-target.fifo', { FifoQueue: 'true' });
    const entries = [...['a', 'b'].flatMap((g) => [0, 1, 2].map((i) => ({ body: `${g}${i}`, group: g, dedup: `${g}-dedup-${i}` })))];
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: fsrc.url, Entries: entries.map((e, k) => ({ Id: `e${k}`, MessageBody: e.body, MessageGroupId: e.group, MessageDeduplicationId: e.dedup })) }));
    await waitFor('6 messages in the FIFO DLQ', async () => {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: fsrc.url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
      return (await counts(fdlq.url)).visible === 6 ? true : undefined;
    });
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: fdlq.arn, DestinationArn: target.arn }));
    const done = await waitForStatus(fdlq.arn, 'COMPLETED');
    t.equal(done.ApproximateNumberOfMessagesMoved, 6, 'all six moved');
    const moved = await receiveAll(target.url, 6, { fifo: true });
    for (const g of ['a', 'b']) {
      const group = moved.filter((m) => m.Attributes?.MessageGroupId === g);
      t.same(group.map((m) => m.Body), [`${g}0`, `${g}1`, `${g}2`], `group ${g} keeps its order`);
      t.same(group.map((m) => m.Attributes?.MessageDeduplicationId), [0, 1, 2].map((i) => `${g}-dedup-${i}`), `and its dedup ids`);
    }
  });

  await t.test('FIFO: moved back to the source inside the dedup window, nothing is taken for a duplicate', async (t) => {
    const { dlq: bdlq, source: bsrc } = await pipe('fifo-back', true);
    const entries = [0, 1, 2].map((i) => ({ body: `again ${i}`, group: 'g', dedup: `again-${i}` }));
    await deadLetter(bsrc.url, bdlq.url, entries);
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: bdlq.arn }));
    const done = await waitForStatus(bdlq.arn, 'COMPLETED');
    t.equal(done.ApproximateNumberOfMessagesMoved, 3, 'all three moved');
    const back = await receiveAll(bsrc.url, 3, { fifo: true });
    t.same(back.map((m) => m.Body), entries.map((e) => e.body), 'every message is back in its source, in order');
    t.same(back.map((m) => m.Attributes?.MessageDeduplicationId), entries.map((e) => e.dedup), 'with the dedup ids they were sent with');
  });

  await t.test('a running task is resumed when the metadata service starts again', async (t) => {
    const { dlq: rdlq, source: rsrc } = await pipe('resume');
    const target = await createQueue('resume-target');
    const bodies = Array.from({ length: 25 }, (_, i) => `resume ${i}`);
    await deadLetter(rsrc.url, rdlq.url, bodies.map((body) => ({ body })));
    await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: rdlq.arn, DestinationArn: target.arn, MaxNumberOfMessagesPerSecond: 5 }));
    await waitFor('some messages moved', async () => ((await counts(target.url)).visible >= 3 ? true : undefined));
    const beforeRestart = (await counts(target.url)).visible;
    await stack.metadata.kill(); // SIGKILL: the driver's marker lives on until its session expires
    t.ok(beforeRestart < 25, `killed part-way (${beforeRestart} of 25 moved)`);
    await stack.metadata.restart();
    const done = await waitForStatus(rdlq.arn, 'COMPLETED', 40_000);
    t.ok(done.ApproximateNumberOfMessagesMoved! > beforeRestart, `the resumed task moved more (${done.ApproximateNumberOfMessagesMoved} counted)`);
    const moved = await receiveAll(target.url, 25);
    t.same([...new Set(moved.map((m) => m.Body))].sort(), [...bodies].sort(), 'every message reached the destination (a kill may duplicate, never lose)');
    const rest = await counts(rdlq.url);
    t.same([rest.visible, rest.inflight], [0, 0], 'the DLQ is empty');
  });
});
