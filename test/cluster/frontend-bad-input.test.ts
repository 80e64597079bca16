/**
 * Bad input at the public door: generated malformed requests (wrong targets, content types, JSON
 * that is not an object, parameters of the wrong type, forged handles, oversized bodies) all get
 * a well-formed SQS error (4xx, `__type`, message, x-amzn-query-error) or, when they happen to
 * be valid, a 200; never a 5xx, and the frontend stays up. Replay with FC_SEED=<seed>.
 */
import fc from 'fast-check';
import t from 'tap';
import { request } from 'undici';
import { postOversized, signedHeaders, startStack } from '../support/index.ts';

const ACTIONS = ['CreateQueue', 'DeleteQueue', 'ListQueues', 'GetQueueUrl', 'GetQueueAttributes', 'SetQueueAttributes', 'SendMessage', 'SendMessageBatch', 'ReceiveMessage', 'DeleteMessage', 'DeleteMessageBatch', 'ChangeMessageVisibility', 'ChangeMessageVisibilityBatch', 'PurgeQueue', 'TagQueue', 'UntagQueue', 'ListQueueTags', 'ListDeadLetterSourceQueues'];

const valueArb = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }));

t.test('malformed requests get well-formed SQS errors and the frontend stays up', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const queueUrl = `${stack.endpoint}/000000000000/target`;
  const post = async (headers: Record<string, string>, body: string | Buffer) => {
    const res = await request(stack.endpoint, { method: 'POST', headers: await signedHeaders(`${stack.endpoint}/`, headers, body), body, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };
  await post({ 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.CreateQueue' }, JSON.stringify({ QueueName: 'target' }));

  const requestArb = fc.record({
    target: fc.oneof(fc.constantFrom(...ACTIONS).map((a) => `AmazonSQS.${a}`), fc.string({ maxLength: 20 }), fc.constant('AmazonSQS.NoSuchAction')),
    contentType: fc.constantFrom('application/x-amz-json-1.0', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
    body: fc.oneof(
      fc.dictionary(fc.constantFrom('QueueUrl', 'QueueName', 'MessageBody', 'Entries', 'ReceiptHandle', 'MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'Attributes', 'MessageAttributes', 'AttributeNames', 'DelaySeconds', 'Tags', 'TagKeys'), valueArb, { maxKeys: 5 })
        .map((o) => JSON.stringify({ QueueUrl: queueUrl, ...o })),
      fc.json(),
      fc.string({ maxLength: 50 }),
      fc.uint8Array({ maxLength: 50 }).map((b) => Buffer.from(b)),
    ),
  });

  let n = 0;
  await fc.assert(
    fc.asyncProperty(requestArb, async ({ target, contentType, body }) => {
      n += 1;
      const headers: Record<string, string> = { 'x-amz-target': target };
      if (contentType) headers['content-type'] = contentType;
      const res = await post(headers, body);
      if (res.status >= 500) throw new Error(`HTTP ${res.status} for ${target} ${contentType}: ${res.text.slice(0, 200)}`);
      if (res.status === 200) return;
      if (res.status < 400) throw new Error(`unexpected status ${res.status}`);
      const parsed = JSON.parse(res.text) as { __type?: unknown; message?: unknown };
      if (typeof parsed.__type !== 'string' || typeof parsed.message !== 'string') throw new Error(`malformed error body: ${res.text.slice(0, 200)}`);
      if (typeof res.headers['x-amzn-query-error'] !== 'string') throw new Error('missing x-amzn-query-error');
    }),
    { numRuns: 300, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
  );
  t.pass(`${n} generated requests were answered with 200 or a well-formed 4xx`);

  // A queue of its own: the generated requests may well have changed or deleted "target".
  await post({ 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.CreateQueue' }, JSON.stringify({ QueueName: 'untouched' }));
  const oversized = await post({ 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' }, JSON.stringify({ QueueUrl: `${stack.endpoint}/000000000000/untouched`, MessageBody: 'x'.repeat(1_048_577) }));
  t.equal(oversized.status, 400, 'a message one byte over 1 MiB is read and refused with SQS’s error');
  t.match(oversized.text, /Message must be shorter than 1048576 bytes/);
  // Announced, not sent: the refusal comes at once, and a client still writing 6 MiB could see only a reset.
  const huge = await postOversized(stack.endpoint, '/', { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' }, 6 * 1024 * 1024, '{"QueueUrl":"');
  t.ok(huge.status >= 400 && huge.status < 500, `a body far beyond any legal request is refused (${huge.status})`);
  const health = await request(`${stack.endpoint}/health`);
  t.equal(health.statusCode, 200, 'the frontend is still up');
  await health.body.dump();
});
