/**
 * The null SQS endpoint (test/bench/null-sqs-server.ts) that measures @aws-sdk/client-sqs's own
 * ceiling: the unchanged client (which verifies every MD5) goes through a send, receive and
 * delete against it, and an action it does not speak gets a 400.
 */
import { join } from 'node:path';
import t from 'tap';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, ListQueuesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { findFreePorts, makeTempDir, pollUntil, removeTempDir, spawnTracked, terminateProcess } from '../support/index.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

t.test('the null SQS endpoint answers the benchmark client correctly', async (t) => {
  const [port] = (await findFreePorts(1)) as [number];
  const dir = makeTempDir('conveyor-null-sqs-');
  t.teardown(() => removeTempDir(dir));
  const server = await spawnTracked(process.execPath, ['--import', 'tsx', 'test/bench/null-sqs-server.ts', '--port', String(port)], { cwd: process.cwd(), logFile: join(dir, 'server.log') });
  t.teardown(() => terminateProcess(server, 'the null SQS endpoint'));
  const endpoint = `http://127.0.0.1:${port}`;
  await pollUntil(async () => (await fetch(`${endpoint}/`, { method: 'POST' }).catch(() => undefined))?.status === 400, { timeoutMs: 15_000, what: 'the null SQS endpoint to listen' });

  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  t.teardown(() => sqs.destroy());
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'null-bench' }));
  t.equal(QueueUrl, `${endpoint}/000000000000/null-bench`);
  const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'a', MessageBody: 'one' }, { Id: 'b', MessageBody: 'twö' }] }));
  t.same(sent.Successful?.map((s) => s.Id), ['a', 'b'], 'sends answered with MD5s the client accepts');
  const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
  t.same(Messages.map((m) => m.Body), ['one', 'twö'], 'received in order, MD5s accepted');
  const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: Messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })) }));
  t.equal(deleted.Successful?.length, 2);
  t.equal((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages?.length ?? 0, 0, 'nothing left');
  await t.rejects(sqs.send(new ListQueuesCommand({})), 'an action it does not speak is refused');
  await sqs.send(new DeleteQueueCommand({ QueueUrl }));
});
