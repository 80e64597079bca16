/**
 * An SQS endpoint that does as little work as a correct answer allows, to measure a client's own
 * ceiling: `npm run bench:frontend -- --endpoint <its URL>` against it gives the most that
 * @aws-sdk/client-sqs itself can drive on this machine, per phase, to set Conveyor's figures beside.
 * It speaks just what that benchmark uses of the JSON protocol (CreateQueue, DeleteQueue,
 * SendMessageBatch, ReceiveMessage, DeleteMessageBatch), keeps messages in an array, checks no
 * signature, and answers every MD5 the client verifies.
 *   node --import tsx test/bench/null-sqs-server.ts [--port 9400]
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '9400' } }, strict: true });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`--port must be a TCP port, not "${values.port}"`);

interface Stored {
  id: string;
  body: string;
  md5: string;
}
type Json = Record<string, unknown>;
type Entry = { Id?: string; MessageBody?: string };

/** One FIFO of messages per queue URL. */
const queues = new Map<string, Stored[]>();
let nextId = 0;
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

function queueOf(input: Json): Stored[] {
  const url = String(input.QueueUrl);
  let queue = queues.get(url);
  if (!queue) queues.set(url, (queue = []));
  return queue;
}

const ACTIONS: Record<string, (input: Json) => Json> = {
  CreateQueue: (input) => ({ QueueUrl: `http://127.0.0.1:${port}/000000000000/${String(input.QueueName)}` }),
  DeleteQueue: (input) => {
    queues.delete(String(input.QueueUrl));
    return {};
  },
  SendMessageBatch: (input) => {
    const queue = queueOf(input);
    const successful = (input.Entries as Entry[]).map((e) => {
      const stored = { id: String(nextId++), body: String(e.MessageBody), md5: md5(String(e.MessageBody)) };
      queue.push(stored);
      return { Id: e.Id, MessageId: stored.id, MD5OfMessageBody: stored.md5 };
    });
    return { Successful: successful, Failed: [] };
  },
  ReceiveMessage: (input) => {
    const taken = queueOf(input).splice(0, Number(input.MaxNumberOfMessages ?? 1));
    return { Messages: taken.map((m) => ({ MessageId: m.id, ReceiptHandle: `h${m.id}`, MD5OfBody: m.md5, Body: m.body })) };
  },
  DeleteMessageBatch: (input) => ({ Successful: (input.Entries as Entry[]).map((e) => ({ Id: e.Id })), Failed: [] }),
};

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const action = String(request.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    const handler = ACTIONS[action];
    let status = 200;
    let answer: Json;
    try {
      if (!handler) throw new Error(`unsupported action "${action}"`);
      answer = handler(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json);
    } catch (error) {
      status = 400;
      answer = { __type: 'com.amazon.coral.service#InvalidAction', message: (error as Error).message };
    }
    const body = JSON.stringify(answer);
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': '0' });
    response.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => console.log(`null SQS endpoint on http://127.0.0.1:${port}`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
