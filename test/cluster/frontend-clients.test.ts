/**
 * The client libraries people actually run against SQS, unchanged, against a real local Conveyor
 * (ZooKeeper, a 3-node cluster, the metadata service, a frontend): bbc's sqs-producer and
 * sqs-consumer (which lean on MessageIds as batch entry ids, §1.8), Python's boto3 (through a
 * script run as a child process), and sqs-consumer riding out the loss of the backend leader.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { Consumer, type ConsumerOptions } from 'sqs-consumer';
import { Producer } from 'sqs-producer';
import { TEST_CREDENTIALS, pollUntil, startStack } from '../support/index.ts';

// The SDK warns once that its 2027 releases need Node 22; not this test's news.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const BOTO3_SCRIPT = fileURLToPath(new URL('../support/boto3-smoke.py', import.meta.url));

const stack = await startStack();
t.teardown(() => stack.close());
const sqs = new SQSClient({ endpoint: stack.endpoint, region: 'us-east-1', credentials: { ...TEST_CREDENTIALS } });
t.teardown(() => sqs.destroy());

async function createQueue(name: string, attributes: Record<string, string> = {}): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} answered no QueueUrl`);
  return QueueUrl;
}

async function counters(queueUrl: string): Promise<{ visible: string | undefined; notVisible: string | undefined }> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Attributes?.ApproximateNumberOfMessages, notVisible: Attributes?.ApproximateNumberOfMessagesNotVisible };
}

interface RunningConsumer {
  consumer: Consumer;
  /** Every error event, as `event: code: message`. */
  errors: string[];
  /** Message ids that sqs-consumer deleted and reported processed. */
  processed: Set<string>;
  stop(): Promise<void>;
}

/**
 * Starts an sqs-consumer with listeners on all its error events (an 'error' event without a
 * listener would throw out of the EventEmitter and crash the test).
 */
function startConsumer(options: Omit<ConsumerOptions, 'sqs'>): RunningConsumer {
  const consumer = Consumer.create({ sqs, pollingCompleteWaitTimeMs: 5_000, ...options });
  const errors: string[] = [];
  const processed = new Set<string>();
  const record = (event: string) => (error: Error & { code?: string }) => errors.push(`${event}: ${error.code ?? error.name}: ${error.message}`);
  consumer.on('error', record('error'));
  consumer.on('processing_error', record('processing_error'));
  consumer.on('timeout_error', record('timeout_error'));
  consumer.on('message_processed', (m) => processed.add(m.MessageId!));
  consumer.start();
  return {
    consumer,
    errors,
    processed,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!consumer.status.isRunning) return resolve();
        consumer.once('stopped', () => resolve());
        consumer.stop();
      }),
  };
}

function summarize(errors: string[]): string {
  const counts = new Map<string, number>();
  for (const e of errors) {
    const key = e.slice(0, 160);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([e, n]) => `${n} × ${e}`).join('\n');
}

t.test('sqs-producer and sqs-consumer', async (t) => {
  const queueUrl = await createQueue('clients-producer', { VisibilityTimeout: '30' });
  const producer = Producer.create({ queueUrl, sqs });

  // Strings (sqs-producer makes each its own batch entry Id) interleaved with objects carrying
  // String, Number and Binary attributes, so every batch of 10 mixes both.
  type ObjectMessage = { id: string; body: string; messageAttributes: Record<string, { DataType: string; StringValue?: string; BinaryValue?: Uint8Array }> };
  const messages: Array<string | ObjectMessage> = [];
  for (let i = 0; i < 100; i++) {
    messages.push(`string-${i}`);
    messages.push({
      id: `object-${i}`,
      body: JSON.stringify({ index: i, note: 'ünïcødé ✓' }),
      messageAttributes: {
        index: { DataType: 'Number', StringValue: String(i) },
        source: { DataType: 'String', StringValue: 'sqs-producer' },
        ...(i % 10 === 0 ? { blob: { DataType: 'Binary', BinaryValue: new Uint8Array([i, 0, 255]) } } : {}),
      },
    });
  }
  const sent = await producer.send(messages);
  t.equal(sent.length, 200, 'sqs-producer reports 200 messages sent (it throws if any failed)');
  t.same(new Set(sent.map((s) => s.Id)), new Set(messages.map((m) => (typeof m === 'string' ? m : m.id))), 'one result per entry id');
  t.ok(sent.every((s) => /^[A-Za-z0-9_-]{1,80}$/.test(s.MessageId ?? '')), 'MessageIds are valid batch entry ids (sqs-consumer deletes with them)');
  t.equal(await producer.queueSize(), 200, 'producer.queueSize() counts them');

  const handledBodies = new Map<string, Message>();
  let handlerCalls = 0;
  const running = startConsumer({
    queueUrl,
    batchSize: 10,
    waitTimeSeconds: 1,
    messageAttributeNames: ['All'],
    handleMessageBatch: async (batch) => {
      handlerCalls++;
      for (const m of batch) handledBodies.set(m.Body!, m);
      return batch;
    },
  });
  t.teardown(() => running.stop());
  await pollUntil(() => running.processed.size >= 200, { timeoutMs: 30_000, what: 'sqs-consumer to process 200 messages', details: () => `processed ${running.processed.size}; errors:\n${summarize(running.errors)}` });
  await running.stop();

  t.equal(running.processed.size, 200, 'sqs-consumer processed (handled and deleted) 200 distinct messages');
  t.same(new Set(running.processed), new Set(sent.map((s) => s.MessageId)), 'exactly the messages sent');
  t.ok(handlerCalls < 100, `in batches (${handlerCalls} handler calls for 200 messages)`);
  t.same(running.errors, [], 'no error events');

  const expectedBodies = messages.map((m) => (typeof m === 'string' ? m : m.body));
  t.same([...handledBodies.keys()].sort(), [...expectedBodies].sort(), 'every body arrived intact');
  let attributesIntact = 0;
  for (const m of messages) {
    if (typeof m === 'string') continue;
    const got = handledBodies.get(m.body)?.MessageAttributes;
    const want = Object.fromEntries(Object.entries(m.messageAttributes).map(([k, v]) => [k, v.BinaryValue ? { DataType: v.DataType, BinaryValue: Buffer.from(v.BinaryValue) } : { DataType: v.DataType, StringValue: v.StringValue }]));
    const gotComparable = Object.fromEntries(Object.entries(got ?? {}).map(([k, v]) => [k, v.BinaryValue ? { DataType: v.DataType, BinaryValue: Buffer.from(v.BinaryValue) } : { DataType: v.DataType, StringValue: v.StringValue }]));
    if (JSON.stringify(gotComparable) === JSON.stringify(want)) attributesIntact++;
    else t.fail(`attributes of ${m.id}`, { found: gotComparable, wanted: want });
  }
  t.equal(attributesIntact, 100, 'every object message kept its String, Number and Binary attributes');
  t.ok(messages.every((m) => typeof m !== 'string' || handledBodies.get(m)?.MessageAttributes === undefined), 'string messages carry no attributes');

  t.same(await counters(queueUrl), { visible: '0', notVisible: '0' }, 'the queue ends empty: nothing visible, nothing in flight');
  const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  t.same(left.Messages ?? [], [], 'and a receive finds nothing');
  t.equal(await producer.queueSize(), 0, 'producer.queueSize() is 0');
});

t.test('sqs-consumer: failed messages come back, heartbeats keep slow ones hidden', async (t) => {
  const queueUrl = await createQueue('clients-retry', { VisibilityTimeout: '30' });
  const bodies = Array.from({ length: 10 }, (_, i) => `retry-${i}`);
  await Producer.create({ queueUrl, sqs }).send(bodies);
  const deliveries = new Map<string, string[]>();
  const options: Omit<ConsumerOptions, 'sqs'> = {
    queueUrl,
    batchSize: 10,
    waitTimeSeconds: 1,
    messageSystemAttributeNames: ['ApproximateReceiveCount'],
    // On a handler error: ChangeMessageVisibility to 0, so the message is received again at once.
    terminateVisibilityTimeout: true,
    // Received for 2 s, and every second ChangeMessageVisibility to 2 s while a handler runs.
    visibilityTimeout: 2,
    heartbeatInterval: 1,
    handleMessage: async (message) => {
      const body = message.Body ?? '';
      const seen = deliveries.get(body) ?? [];
      seen.push(message.Attributes?.ApproximateReceiveCount ?? '?');
      deliveries.set(body, seen);
      if (seen.length === 1) throw new Error(`first delivery of ${body} fails`);
      // Longer than the 2 s visibility timeout: only the heartbeat keeps the other consumer from getting it meanwhile.
      if (body === 'retry-0') await new Promise((r) => setTimeout(r, 3_500));
      return message;
    },
  };
  // Two consumers: while one is busy with the slow message, the other keeps polling.
  const consumers = [startConsumer(options), startConsumer(options)];
  t.teardown(() => Promise.all(consumers.map((c) => c.stop())));
  const processed = () => new Set(consumers.flatMap((c) => [...c.processed]));
  const errors = () => consumers.flatMap((c) => c.errors);
  await pollUntil(() => processed().size >= bodies.length, { timeoutMs: 30_000, what: 'sqs-consumer to process the retried messages', details: () => `deliveries ${JSON.stringify([...deliveries])}; errors:\n${summarize(errors())}` });
  await Promise.all(consumers.map((c) => c.stop()));

  t.same(Object.fromEntries(deliveries), Object.fromEntries(bodies.map((b) => [b, ['1', '2']])), 'each was delivered twice: the failure, then the success (ApproximateReceiveCount 1, 2)');
  t.equal(errors().length, bodies.length, 'one processing_error per first delivery');
  t.ok(errors().every((e) => e.startsWith('processing_error: ') && e.includes('first delivery of')), `and nothing else:\n${summarize(errors())}`);
  t.same(await counters(queueUrl), { visible: '0', notVisible: '0' }, 'the queue ends empty');
});

t.test('boto3', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  const run = await new Promise<{ code: number | string | null; stdout: string; stderr: string }>((resolve) => {
    execFile('python3', [BOTO3_SCRIPT, stack.endpoint, 'clients-boto3'], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as NodeJS.ErrnoException).code ?? (error as { status?: number }).status ?? 'failed') : 0, stdout, stderr });
    });
  });
  if (run.code === 'ENOENT') t.fail('python3 is not on PATH: install Python 3 and then `pip install boto3`');
  else if (run.code === 3 || /No module named .?boto3|boto3 is not installed/.test(run.stderr)) t.fail(`boto3 is missing: pip install boto3\n${run.stderr}`);
  t.equal(run.code, 0, `the boto3 script exits 0${run.stderr ? `\n${run.stderr.slice(-3_000)}` : ''}`);
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let summary;
  try {
    summary = JSON.parse(last) as Boto3Summary;
  } catch {
    t.fail(`the boto3 script printed no JSON summary: ${JSON.stringify(run.stdout.slice(-1_000))}`);
    return;
  }
  t.comment(`boto3 ${summary.boto3}, botocore ${summary.botocore}`);
  t.equal(summary.queueUrl, `${stack.endpoint}/000000000000/clients-boto3`, 'create_queue answers this frontend’s queue URL');
  // The vectors of SQS-REFERENCE §1.4, and the script's own MD5s.
  t.equal(summary.expected.md5OfBody, '4504dd781f625d681c31cda87e260702', 'the script computes the reference body MD5');
  t.equal(summary.expected.md5OfTestKeyOnly, 'befa18540a897f7d022bf07057754a03', 'the script computes the reference attribute MD5');
  t.match(summary.send.messageId, /^[A-Za-z0-9_-]{1,80}$/, 'send_message answers a MessageId');
  t.equal(summary.send.md5OfBody, summary.expected.md5OfBody, 'MD5OfMessageBody on send');
  t.equal(summary.send.md5OfAttributes, summary.expected.md5OfAttributes, 'MD5OfMessageAttributes on send');
  t.equal(summary.receive.count, 1, 'receive_message gets the message');
  t.equal(summary.receive.messageId, summary.send.messageId, 'the same MessageId');
  t.ok(summary.receive.bodyMatches, 'the body is intact');
  t.equal(summary.receive.md5OfBody, summary.receive.md5OfBodyComputed, 'MD5OfBody on receive matches the body');
  t.equal(summary.receive.md5OfBody, summary.expected.md5OfBody, 'and the reference vector');
  t.same(summary.receive.attributeNames, ['blob', 'count', 'test-key'], 'all message attributes with All');
  t.ok(summary.receive.attributesMatch, 'String, Number and Binary values intact (Binary as bytes)');
  t.equal(summary.receive.md5OfAttributes, summary.expected.md5OfAttributes, 'MD5OfMessageAttributes on receive');
  t.same(summary.receive.systemAttributeNames, ['ApproximateFirstReceiveTimestamp', 'ApproximateReceiveCount', 'SenderId', 'SentTimestamp'], 'system attributes for All on a standard queue');
  t.same(summary.receiveOneAttribute, { count: 1, attributeNames: ['test-key'], md5OfAttributes: 'befa18540a897f7d022bf07057754a03', receiveCount: '2' }, 'asking for one attribute: its MD5 covers only it');
  t.equal(summary.afterDelete.received, 0, 'delete_message deleted it');
  t.same(summary.batch, { successfulIds: ['b1', 'b2'], failed: [], md5sMatch: true, receivedBodies: ['batch one', 'batch two ✓'], receivedMd5sMatch: true, deletedIds: ['d0', 'd1'], deleteFailed: [] }, 'send_message_batch, receive_message and delete_message_batch, every MD5 right');
  t.equal(summary.queueAttributes.VisibilityTimeout, '17', 'get_queue_attributes: the attribute it was created with');
  t.equal(summary.queueAttributes.ApproximateNumberOfMessages, '0', 'get_queue_attributes: nothing visible');
  t.equal(summary.queueAttributes.ApproximateNumberOfMessagesNotVisible, '0', 'get_queue_attributes: nothing in flight');
  t.match(summary.queueAttributes.QueueArn, /^arn:aws:sqs:[^:]+:000000000000:clients-boto3$/, 'get_queue_attributes: its QueueArn');
  // botocore reads the legacy code from x-amzn-query-error (§1.8 item 2).
  t.same(summary.errors.missingQueue && [summary.errors.missingQueue.code, summary.errors.missingQueue.status], ['AWS.SimpleQueueService.NonExistentQueue', 400], 'a missing queue is the legacy NonExistentQueue code, 400');
  t.same(summary.errors.badHandle && [summary.errors.badHandle.code, summary.errors.badHandle.status], ['ReceiptHandleIsInvalid', 400], 'a forged receipt handle is ReceiptHandleIsInvalid, 400');
});

interface Boto3Summary {
  boto3: string;
  botocore: string;
  queueUrl: string;
  send: { messageId: string; md5OfBody: string; md5OfAttributes: string };
  expected: { md5OfBody: string; md5OfAttributes: string; md5OfTestKeyOnly: string };
  receive: { count: number; messageId: string; bodyMatches: boolean; md5OfBody: string; md5OfBodyComputed: string; md5OfAttributes: string; attributeNames: string[]; attributesMatch: boolean; systemAttributeNames: string[] };
  receiveOneAttribute: { count: number; attributeNames: string[]; md5OfAttributes: string; receiveCount: string };
  afterDelete: { received: number };
  batch: { successfulIds: string[]; failed: unknown[]; md5sMatch: boolean; receivedBodies: string[]; receivedMd5sMatch: boolean; deletedIds: string[]; deleteFailed: unknown[] };
  queueAttributes: Record<string, string | undefined>;
  errors: { missingQueue: { code: string; status: number } | null; badHandle: { code: string; status: number } | null };
}

t.test('sqs-consumer loses no acknowledged message when the backend leader is killed', async (t) => {
  const total = 2_000;
  const killAfter = 300;
  // A short visibility timeout: messages in flight on the dead leader come back soon.
  const queueUrl = await createQueue('clients-failover', { VisibilityTimeout: '5' });
  const producer = Producer.create({ queueUrl, sqs });
  const bodies = Array.from({ length: total }, (_, i) => `failover-${i}`);
  // Several sqs-producer sends at once, 100 messages each; every one resolves only when SQS acknowledged all its entries.
  const chunks = Array.from({ length: total / 100 }, (_, c) => bodies.slice(c * 100, (c + 1) * 100));
  const acknowledged = (await Promise.all(chunks.map((chunk) => producer.send(chunk)))).flat();
  t.equal(acknowledged.length, total, `${total} messages acknowledged before the consumer starts`);

  // Acknowledged: every message whose send resolved, before the kill or while it happens.
  const expected = new Set(bodies);
  const handled = new Map<string, number>();
  const unexpected: string[] = [];
  const running = startConsumer({
    queueUrl,
    batchSize: 10,
    waitTimeSeconds: 1,
    authenticationErrorTimeout: 1_000,
    handleMessage: async (message) => {
      const body = message.Body ?? '';
      if (!body.startsWith('failover-') && !body.startsWith('during-')) unexpected.push(body);
      handled.set(body, (handled.get(body) ?? 0) + 1);
      return message;
    },
  });
  t.teardown(() => running.stop());

  // A producer that keeps sending batches of 10 across the kill. A send that fails was not
  // acknowledged: its messages may or may not arrive, and either is correct.
  let producing = true;
  let acknowledgedDuring = 0;
  const unacknowledged = new Set<string>();
  const sendErrors: string[] = [];
  const producing$ = (async () => {
    for (let n = 0; producing; n += 10) {
      const batch = Array.from({ length: 10 }, (_, i) => `during-${n + i}`);
      try {
        await producer.send(batch);
        for (const b of batch) expected.add(b);
        acknowledgedDuring += batch.length;
      } catch (error) {
        // sqs-producer's FailedMessagesError names the entries that failed; the others were acknowledged.
        const failed = (error as { failedMessages?: string[] }).failedMessages ?? batch;
        for (const b of batch) {
          if (failed.includes(b)) unacknowledged.add(b);
          else expected.add(b);
        }
        sendErrors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
  })();

  const cluster = stack.clusters[0]!;
  const leader = await cluster.waitForLeader();
  await pollUntil(() => handled.size >= killAfter, { timeoutMs: 30_000, what: `sqs-consumer to handle ${killAfter} messages`, details: () => `handled ${handled.size}; errors:\n${summarize(running.errors)}` });
  await cluster.kill(leader.id);
  const handledAtKill = handled.size;
  const sentAtKill = acknowledgedDuring;
  t.ok(handledAtKill < total, `the leader ${leader.id} was killed mid-stream, after ${handledAtKill} of ${total} messages`);
  const killedAt = Date.now();

  const next = await cluster.waitForLeader(30_000);
  t.not(next.id, leader.id, `another node leads (${next.id}, epoch ${next.epoch}) after ${Date.now() - killedAt} ms`);
  // Let the producer get some sends through the new leader, then stop it.
  await pollUntil(() => acknowledgedDuring >= sentAtKill + 200, { timeoutMs: 30_000, what: 'sends to be acknowledged after the failover', details: () => `send errors:\n${summarize(sendErrors)}` });
  producing = false;
  await producing$;
  t.ok(sentAtKill > 0, `the producer had ${sentAtKill} messages acknowledged before the kill, ${acknowledgedDuring} in all while the consumer ran`);
  t.comment(`${sendErrors.length} failed sends (${unacknowledged.size} unacknowledged messages)${sendErrors.length ? `:\n${summarize(sendErrors)}` : ''}`);

  const wanted = expected.size;
  await pollUntil(() => [...expected].every((b) => handled.has(b)), {
    timeoutMs: 90_000,
    what: 'every acknowledged message to be handled',
    details: () => `handled ${[...expected].filter((b) => handled.has(b)).length} of ${wanted}; missing e.g. ${[...expected].filter((b) => !handled.has(b)).slice(0, 5).join(', ')}; errors:\n${summarize(running.errors)}`,
  });
  t.comment(`all ${wanted} acknowledged messages handled ${Date.now() - killedAt} ms after the kill`);
  t.equal([...expected].filter((b) => handled.has(b)).length, wanted, `every acknowledged message (${wanted}) was handled at least once`);
  t.same(unexpected, [], 'and nothing that was never sent');
  const deliveries = [...handled.values()].reduce((a, b) => a + b, 0);
  t.comment(`${deliveries} deliveries of ${handled.size} distinct messages: ${deliveries - handled.size} duplicates; ${[...unacknowledged].filter((b) => handled.has(b)).length} of the unacknowledged arrived anyway`);
  t.comment(`${running.errors.length} sqs-consumer error events during the failover${running.errors.length ? `:\n${summarize(running.errors)}` : ''}`);

  // Duplicates whose deletes were lost come back after the 5 s visibility timeout and are deleted then.
  const drained = await pollUntil(
    async () => {
      const c = await counters(queueUrl);
      return c.visible === '0' && c.notVisible === '0' ? c : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'the queue to drain after the failover', details: () => `errors:\n${summarize(running.errors)}` },
  );
  t.same(drained, { visible: '0', notVisible: '0' }, 'the queue ends empty');
  await running.stop();
  const left = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  t.same(left.Messages?.map((m) => m.Body) ?? [], [], 'and a receive finds nothing');
});
