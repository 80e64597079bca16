/**
 * The native API through frontends: two frontends side by side over one cluster, batches larger
 * than SQS's 10, idempotency keys on standard queues, receipt handles usable at any frontend.
 */
import t from 'tap';
import { NATIVE_CONTENT_TYPE, NATIVE_RECORDS_ACCEPT, NativeClient, decodeNative, encodeNative, encodeNativeInternal } from '@conveyor/client-sdk';
import { TEST_CREDENTIALS, startFrontend, startStack } from '../support/index.ts';
import { signedHeaders } from '../support/signing.ts';

t.test('two frontends serve the native API over one cluster', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const second = await startFrontend(stack.metadata.url);
  t.teardown(() => second.stop());
  const one = new NativeClient({ nodes: [stack.frontend.url], deadlineMs: 10_000, credentials: TEST_CREDENTIALS });
  const two = new NativeClient({ nodes: [second.url], deadlineMs: 10_000, credentials: TEST_CREDENTIALS });
  t.teardown(() => Promise.all([one.close(), two.close()]));

  await one.call('CreateQueue', { queue: 'native' });
  const big = await one.call('SendMessageBatch', { queue: 'native', maxEntries: 100, entries: Array.from({ length: 100 }, (_, i) => ({ id: `e${i}`, body: `m${i}` })) });
  t.equal(big.successful.length, 100, 'a batch of 100 when asked for');

  const first = await one.call('SendMessageBatch', { queue: 'native', entries: [{ id: 'x', body: 'once', idempotencyKey: 'order-42' }] });
  const retry = await one.call('SendMessageBatch', { queue: 'native', entries: [{ id: 'x', body: 'once', idempotencyKey: 'order-42' }] });
  t.equal(retry.successful[0]?.messageId, first.successful[0]?.messageId, 'a retried send with the same idempotency key answers the first message');
  t.equal(retry.successful[0]?.duplicate, true, 'marked as a duplicate');
  t.equal((await two.call('GetQueue', { queue: 'native' })).counts.visible, 101, 'and enqueued nothing new (seen through the other frontend)');

  const { messages } = await two.call('ReceiveMessage', { queue: 'native', maxMessages: 10 });
  t.equal(messages.length, 10, 'the other frontend receives');
  const deleted = await one.call('DeleteMessageBatch', { queue: 'native', entries: messages.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
  t.equal(deleted.successful.length, 10, 'handles from one frontend delete through the other');
  t.equal((await one.call('GetQueue', { queue: 'native' })).counts.visible, 91, 'the count went down');
  await t.rejects(one.call('SendMessageBatch', { queue: 'native', entries: Array.from({ length: 11 }, (_, i) => ({ id: `e${i}`, body: 'x' })) }), { code: 'TooManyEntriesInBatchRequest' }, 'without maxEntries the SQS limit of 10 holds');
});

t.test('parked long polls never hold up other requests to the same cluster', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  // More parked long polls than a frontend keeps connections for ordinary requests.
  const polls = 150;
  const pollers = new NativeClient({ nodes: [stack.frontend.url], deadlineMs: 30_000, requestTimeoutMs: 30_000, connections: polls + 10, credentials: TEST_CREDENTIALS });
  const sender = new NativeClient({ nodes: [stack.frontend.url], deadlineMs: 10_000, credentials: TEST_CREDENTIALS });
  t.teardown(() => Promise.all([pollers.close(), sender.close()]));
  await sender.call('CreateQueue', { queue: 'parked' });
  await sender.call('CreateQueue', { queue: 'busy' });

  const parked = Array.from({ length: polls }, () => pollers.call('ReceiveMessage', { queue: 'parked', maxMessages: 1, waitTimeSeconds: 4 }));
  // Until every long poll has reached the leader, a send could still get ahead of some of them.
  await stack.clusters[0]!.waitFor(async () => {
    const metrics = await (await fetch(`${stack.frontend.url}/metrics`)).text();
    const line = metrics.split('\n').find((l) => l.startsWith('conveyor_frontend_in_flight{kind="long_polls"}'));
    return line !== undefined && Number(line.split(' ').at(-1)) >= polls;
  }, 10_000, `${polls} long polls parked at the frontend`);
  const started = Date.now();
  await sender.call('SendMessageBatch', { queue: 'busy', entries: [{ id: 'a', body: 'not stuck behind long polls' }] });
  const elapsed = Date.now() - started;
  t.ok(elapsed < 2_000, `a send to the same cluster is answered while ${polls} long polls are parked (took ${elapsed} ms)`);
  const results = await Promise.all(parked);
  t.equal(results.filter((r) => r.messages.length === 0).length, polls, 'the long polls end empty when their wait is over');
});

t.test('answers are plain msgpack unless the caller accepts msgpackr records', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const client = new NativeClient({ nodes: [stack.frontend.url], deadlineMs: 10_000, credentials: TEST_CREDENTIALS });
  t.teardown(() => client.close());
  await client.call('CreateQueue', { queue: 'codecs' });
  await client.call('SendMessageBatch', { queue: 'codecs', entries: [{ id: 'a', body: 'one' }, { id: 'b', body: 'two' }] });

  // A record structure definition is msgpackr's ext 0x72; plain msgpack of these values has none.
  const hasRecordDefinition = (bytes: Buffer): boolean => bytes.includes(Buffer.from([0xd4, 0x72]));
  const receive = async (accept: string | undefined, encode: (v: unknown) => Buffer) => {
    const url = `${stack.frontend.url}/native/ReceiveMessage`;
    const body = encode({ queue: 'codecs', maxMessages: 10, visibilityTimeoutSeconds: 0 });
    const headers = await signedHeaders(url, { 'content-type': NATIVE_CONTENT_TYPE, ...(accept !== undefined && { accept }) }, body);
    const res = await fetch(url, { method: 'POST', headers, body });
    t.equal(res.status, 200);
    return Buffer.from(await res.arrayBuffer());
  };
  const plain = await receive(undefined, encodeNative);
  t.notOk(hasRecordDefinition(plain), 'without the accept value the answer is plain msgpack');
  const records = await receive(NATIVE_RECORDS_ACCEPT, encodeNativeInternal);
  t.ok(hasRecordDefinition(records), 'with it the answer uses records (and a records request is read)');
  const bodies = (bytes: Buffer) => decodeNative<{ messages: Array<{ body: string }> }>(bytes).messages.map((m) => m.body).sort();
  t.same(bodies(plain), ['one', 'two']);
  t.same(bodies(records), ['one', 'two'], 'both carry the same messages');
});
