/**
 * Under load the frontend merges concurrent batch calls and receives to one queue into fewer
 * backend calls. Through the unchanged @aws-sdk/client-sqs (which checks every MD5): each caller
 * still gets exactly its own results, a bad batch fails alone, and every message is delivered once.
 */
import t from 'tap';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { TEST_CREDENTIALS, sqsError, startStack } from '../support/index.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** Backend round trips the frontend made for `action`, from its metrics. */
async function backendCalls(frontendUrl: string, action: string): Promise<number> {
  const text = await (await fetch(`${frontendUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`conveyor_frontend_backend_request_duration_seconds_count{action="${action}",outcome="ok"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

t.test('concurrent batches and receives are merged, and each caller gets its own answers', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const sqs = new SQSClient({ endpoint: stack.endpoint, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS }, maxAttempts: 1 });
  t.teardown(() => sqs.destroy());
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'merged', Attributes: { VisibilityTimeout: '60' } }));

  const requests = 200;
  const sendsBefore = await backendCalls(stack.frontend.url, 'SendMessageBatch');
  // Every request numbers its entries 0..9, so merged entries with equal ids must not be confused;
  // every 7th request has a per-entry failure (a forbidden character) and one is bad as a whole.
  const sends = Array.from({ length: requests }, (_, r) =>
    sqs.send(
      new SendMessageBatchCommand({
        QueueUrl,
        Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `e${i}`, MessageBody: r % 7 === 0 && i === 3 ? 'bad \u0000 body' : `r${r}-m${i}` })),
      }),
    ),
  );
  const badBatch = sqsError(sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'same', MessageBody: 'a' }, { Id: 'same', MessageBody: 'b' }] })));
  const answers = await Promise.all(sends);
  t.equal((await badBatch).name, 'BatchEntryIdsNotDistinct', 'a batch that breaks a batch-level rule fails alone');

  const expected = new Set<string>();
  let wrong = 0;
  answers.forEach((answer, r) => {
    const failedIds = (answer.Failed ?? []).map((f) => f.Id);
    if (JSON.stringify(failedIds) !== JSON.stringify(r % 7 === 0 ? ['e3'] : [])) wrong++;
    for (const s of answer.Successful ?? []) expected.add(`r${r}-m${s.Id!.slice(1)}`);
    if ((answer.Successful ?? []).length + failedIds.length !== 10) wrong++;
  });
  t.equal(wrong, 0, 'every request got its own ten results under its own ids');
  t.equal(expected.size, requests * 10 - Math.ceil(requests / 7), 'every good entry was accepted');
  const sendCalls = (await backendCalls(stack.frontend.url, 'SendMessageBatch')) - sendsBefore;
  t.ok(sendCalls < requests / 2, `${requests} concurrent requests took ${sendCalls} backend calls`);

  // Concurrent receivers: merged receives split their messages without giving one to two callers.
  const receivesBefore = await backendCalls(stack.frontend.url, 'ReceiveMessage');
  const seen = new Map<string, number>();
  const handles: Message[] = [];
  const receiver = async (): Promise<void> => {
    // Bounded: each pass either receives or ends the receiver after an empty poll.
    for (let pass = 0; pass < 1_000; pass++) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      if (Messages.length === 0 && seen.size >= expected.size) return;
      for (const m of Messages) {
        seen.set(m.Body!, (seen.get(m.Body!) ?? 0) + 1);
        handles.push(m);
      }
    }
  };
  await Promise.all(Array.from({ length: 40 }, receiver));
  t.same([...seen.keys()].sort(), [...expected].sort(), 'every message was received');
  t.same([...seen.values()].filter((n) => n > 1), [], 'and none by two receivers (visibility timeout 60 s)');
  const receiveCalls = (await backendCalls(stack.frontend.url, 'ReceiveMessage')) - receivesBefore;
  t.ok(receiveCalls > 0, `the receives took ${receiveCalls} backend calls`);

  const deletes = [];
  for (let i = 0; i < handles.length; i += 10) {
    const batch = handles.slice(i, i + 10);
    deletes.push(sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: batch.map((m, n) => ({ Id: `d${n}`, ReceiptHandle: m.ReceiptHandle })) })));
  }
  const deleted = await Promise.all(deletes);
  t.equal(deleted.reduce((n, d) => n + (d.Successful?.length ?? 0), 0), handles.length, 'every delete succeeded');
  t.equal(deleted.reduce((n, d) => n + (d.Failed?.length ?? 0), 0), 0);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  t.same(Attributes, { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' }, 'the queue is empty');

  // On a drained queue a long poll goes straight to the leader: one backend call, not a merged
  // short poll first.
  const before = await backendCalls(stack.frontend.url, 'ReceiveMessage');
  const { Messages: none = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  t.equal(none.length, 0);
  t.equal((await backendCalls(stack.frontend.url, 'ReceiveMessage')) - before, 1, 'a long poll on a drained queue is one backend call');
});
