/**
 * Bad input is refused by the SDK with a typed error before any request: a real HTTP server
 * counts what reaches it, and nothing does. Also: option checking, and server errors (from that
 * server) reaching the caller typed, with the request id and whether a retry could help.
 */
import { createServer, type Server } from 'node:http';
import t from 'tap';
import { Conveyor, encodeNative, type MessageAttributes } from '@conveyor/client-sdk';
import { TEST_CREDENTIALS } from '../support/credentials.ts';

/** A server that counts requests and answers each with a native QueueDoesNotExist error. */
async function countingServer(): Promise<{ server: Server; url: string; count: () => number }> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    req.resume();
    req.on('end', () => {
      res.writeHead(400, { 'content-type': 'application/x-msgpack', 'x-amzn-RequestId': `req-${requests}` });
      res.end(encodeNative({ error: { code: 'QueueDoesNotExist', message: 'The specified queue does not exist.' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { server, url: `http://127.0.0.1:${address.port}`, count: () => requests };
}

t.test('invalid calls are refused locally, with typed errors, and send nothing', async (t) => {
  const { server, url, count } = await countingServer();
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const conveyor = new Conveyor({ endpoint: url, credentials: TEST_CREDENTIALS });
  t.teardown(() => conveyor.close());
  const std = conveyor.queue('local-checks');
  const fifo = conveyor.queue('local-checks.fifo');

  await t.rejects(std.send({ body: 'x'.repeat(1_048_577) }), { code: 'InvalidParameterValue', message: /shorter than 1048576/ }, 'too large');
  await t.rejects(std.send({ body: 'bad \u0000' }), { code: 'InvalidMessageContents' }, 'a character SQS does not allow');
  await t.rejects(std.send(''), { code: 'MissingParameter' }, 'an empty body');
  await t.rejects(std.send({ body: 'x', attributes: { n: { DataType: 'Number', StringValue: 'abc' } } }), { code: 'InvalidParameterValue' }, 'a Number attribute that is not a number');
  await t.rejects(std.send({ body: 'x', attributes: { b: { DataType: 'Binary', StringValue: 'abc' } } as MessageAttributes }), { code: 'InvalidParameterValue' }, 'a Binary attribute without bytes');
  await t.rejects(std.send({ body: 'x', attributes: { 'AWS.x': { DataType: 'String', StringValue: 'v' } } }), { code: 'InvalidParameterValue' }, 'a reserved attribute name');
  await t.rejects(std.send({ body: 'x', delaySeconds: 901 }), { code: 'InvalidParameterValue' }, 'a delay over 15 minutes');
  await t.rejects(std.send({ body: 'x', dedupId: 'd' }), { code: 'InvalidParameterValue', message: /not valid for this queue type/ }, 'a deduplication id on a standard queue');
  await t.rejects(fifo.send({ body: 'x' }), { code: 'MissingParameter', message: /MessageGroupId/ }, 'a FIFO send without a group');
  await t.rejects(fifo.send({ body: 'x', groupId: 'g', delaySeconds: 5 }), { code: 'InvalidParameterValue', message: /not valid for this queue type/ }, 'a per-message delay on a FIFO queue');
  await t.rejects(fifo.send({ body: 'x', groupId: 'g h' }), { code: 'InvalidParameterValue' }, 'a group id with a space');
  await t.rejects(std.receive({ max: 1_001 }), { code: 'InvalidParameterValue', message: /between 1 and 1000/ });
  await t.rejects(std.receive({ waitSeconds: 21 }), { code: 'InvalidParameterValue' });
  await t.rejects(std.changeVisibility('h', 50_000), { code: 'InvalidParameterValue' });
  await t.rejects(std.delete(''), { code: 'InvalidParameterValue' });
  await t.rejects(conveyor.createQueue('bad name!'), { code: 'InvalidParameterValue' });
  await t.rejects(conveyor.createQueue('q', { visibilityTimeoutSeconds: 99_999 }), { code: 'InvalidAttributeValue' });
  await t.rejects(conveyor.createQueue('q', { contentBasedDeduplication: true }), { code: 'InvalidAttributeName' }, 'a FIFO attribute on a standard queue');
  await t.rejects(std.setAttributes({ fifoQueue: true }), { code: 'InvalidAttributeValue' }, 'changing the queue type');
  t.throws(() => conveyor.queue('x'.repeat(81)), { code: 'InvalidParameterValue' }, 'a queue name too long');
  t.equal(count(), 0, 'not one request reached the server');

  const err = await std.receive({ max: 1 }).catch((e: unknown) => e);
  t.equal(count(), 1, 'a valid call is sent');
  t.match(err, { name: 'ConveyorError', code: 'QueueDoesNotExist', retryable: false, requestId: 'req-1' }, "the server's error arrives typed, with its request id");
});

t.test('options are checked and named', async (t) => {
  t.throws(() => new Conveyor({} as never), { code: 'InvalidParameterValue', message: /credentials/ }, 'credentials are required');
  t.doesNotThrow(() => new Conveyor({ credentials: 'none' }), "unless explicitly 'none'");
  t.throws(() => new Conveyor({ credentials: 'none', sendBatching: { lingerMs: -1 } }), { message: /sendBatching.lingerMs/ });
  t.throws(() => new Conveyor({ credentials: 'none', sendBatching: { maxEntries: 1_001 } }), { message: /sendBatching.maxEntries/ });
  t.throws(() => new Conveyor({ credentials: 'none', endpoint: 'ftp://x' }), { message: /http or https/ });
  t.throws(() => new Conveyor({ credentials: 'none', endpoint: [] }), { message: /at least one endpoint/ });
  t.throws(() => new Conveyor({ credentials: 'none', retry: { maxAttempts: 0 } }), { message: /retry.maxAttempts/ });
  t.throws(() => new Conveyor({ credentials: 'none', colour: 'red' } as never), { message: /colour/ }, 'unknown options are refused');
  t.throws(() => new Conveyor({ credentials: 'none', signPayload: 'yes' } as never), { message: /signPayload/ }, 'signPayload is true or false');
  t.throws(() => new Conveyor({ credentials: 'none', endpoint: ['https://a', 'http://b'], signPayload: false }), { message: /signPayload.*http:\/\/b/ }, 'false names the plain-HTTP endpoint');
  t.doesNotThrow(() => new Conveyor({ credentials: 'none', endpoint: 'https://a', signPayload: false }), 'and is fine with https ones');
  t.throws(() => new Conveyor({ credentials: 'none', tlsCa: [42] } as never), { message: /tlsCa/ }, 'tlsCa is PEM text or Buffers');
});
