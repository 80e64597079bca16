/**
 * The client SDK against a real local stack: the queue API and administration, typed server
 * errors, gzip bodies, and fast-check properties — any sequence
 * of sends (sizes, groups, attributes) is received at least once with body and attributes intact,
 * FIFO groups in order, and nothing is received after it was deleted.
 */
import t from 'tap';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { checkMessageBody, Conveyor, encodeNative, RequestSigner, type MessageAttributes, type OutgoingMessage, type ReceivedMessage } from '@conveyor/client-sdk';
import { startStack } from '../support/index.ts';
import { TEST_CREDENTIALS } from '../support/credentials.ts';

/** Whether SQS allows this text in a body or string attribute. */
function allowedText(text: string): boolean {
  try {
    checkMessageBody(text);
    return true;
  } catch {
    return false;
  }
}

/** Attributes as comparable text: names sorted, binary values as base64. */
function canonical(attributes: MessageAttributes | undefined): string {
  const entries = Object.entries(attributes ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify(entries.map(([name, v]) => [name, v.DataType, v.StringValue ?? Buffer.from(v.BinaryValue!).toString('base64')]));
}

t.test('the SDK against a local stack', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());
  const conveyor = new Conveyor({ endpoint: stack.endpoint, credentials: TEST_CREDENTIALS });
  t.teardown(() => conveyor.close());

  t.test('send, receive, delete, change visibility', async (t) => {
    const queue = await conveyor.createQueue('basics', { visibilityTimeoutSeconds: 10 });
    const sent = await queue.send({ body: 'hello', attributes: { kind: { DataType: 'String', StringValue: 'greeting' } } });
    t.match(sent, { messageId: /^[0-9a-f-]{36}$/, duplicate: false }, 'a send answers its message id');
    const many = await queue.sendMany(['a', 'b', { body: '' }]);
    t.same(many.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected'], 'sendMany: one outcome per message');
    t.match(many[2], { reason: { code: 'MissingParameter' } }, 'the bad one fails alone, before sending');
    const got = await queue.receive({ max: 10, waitSeconds: 1 });
    t.equal(got.length, 3, 'received the three good messages');
    const hello = got.find((m) => m.body === 'hello')!;
    t.same(hello.attributes, { kind: { DataType: 'String', StringValue: 'greeting' } }, 'attributes intact');
    await Promise.all(got.filter((m) => m !== hello).map((m) => queue.delete(m)));
    await queue.changeVisibility(hello, 0);
    const again = await queue.receive({ max: 10, waitSeconds: 1 });
    t.same(again.map((m) => m.body), ['hello'], 'visibility 0 makes it receivable at once; the deleted ones are gone');
    const [good, bad] = await Promise.allSettled([queue.delete(again[0]!), queue.delete('not-a-handle')]);
    t.equal(good.status, 'fulfilled', 'in one batch, the good delete succeeds');
    t.match(bad, { status: 'rejected', reason: { code: 'ReceiptHandleIsInvalid' } }, 'and the bad handle fails its own delete with the server code');
  });

  t.test('close() waits for every send in flight', async (t) => {
    const client = new Conveyor({ endpoint: stack.endpoint, credentials: TEST_CREDENTIALS });
    const queue = await client.createQueue('closing');
    let answered = 0;
    const sends = Array.from({ length: 500 }, (_, i) => queue.send(`m${i}`).then(() => void (answered += 1)));
    await client.close();
    t.equal(answered, 500, 'every send was answered before close() resolved');
    await Promise.all(sends);
    await t.rejects(queue.send('late'), { code: 'ClientClosed' }, 'a closed client refuses');
    t.equal((await conveyor.queue('closing').getAttributes()).counts.visible, 500, 'and all 500 are in the queue');
  });

  t.test('long polls do not take the connections sends need', async (t) => {
    // Two connections for ordinary calls, and more long polls than that parked at once.
    const narrow = new Conveyor({ endpoint: stack.endpoint, credentials: TEST_CREDENTIALS, connectionsPerEndpoint: 2 });
    t.teardown(() => narrow.close());
    const idle = await narrow.createQueue('idle-long-polls');
    const busy = await narrow.createQueue('busy-next-to-long-polls');
    const parked = Array.from({ length: 6 }, () => idle.receive({ max: 1, waitSeconds: 3 }));
    // The long polls were asked for first: a send that queued behind them for a connection would wait out their 3 s.
    const started = Date.now();
    await busy.send({ body: 'straight through' });
    const elapsed = Date.now() - started;
    t.ok(elapsed < 1_500, `a send is answered while 6 long polls are parked on a 2-connection client (${elapsed} ms)`);
    t.same((await Promise.all(parked)).map((m) => m.length), [0, 0, 0, 0, 0, 0], 'the long polls end empty');
  });

  t.test('administration with typed attributes', async (t) => {
    const dlq = await conveyor.createQueue('admin-dlq');
    const dlqArn = (await dlq.getAttributes()).arn;
    const queue = await conveyor.createQueue('admin', { delaySeconds: 1, messageRetentionPeriodSeconds: 3_600, redrivePolicy: { deadLetterTargetArn: dlqArn, maxReceiveCount: 3 } });
    const described = await queue.getAttributes();
    t.match(described.attributes, { delaySeconds: 1, messageRetentionPeriodSeconds: 3_600, redrivePolicy: { deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }, fifoQueue: false });
    await queue.setAttributes({ delaySeconds: 0, visibilityTimeoutSeconds: 45, redrivePolicy: null });
    const changed = (await queue.getAttributes()).attributes;
    t.equal(changed.delaySeconds, 0);
    t.equal(changed.visibilityTimeoutSeconds, 45);
    t.equal(changed.redrivePolicy, undefined, 'the redrive policy was removed');
    const fifo = await conveyor.createQueue('admin.fifo', { contentBasedDeduplication: true });
    t.match((await fifo.getAttributes()).attributes, { fifoQueue: true, contentBasedDeduplication: true }, 'a .fifo name makes a FIFO queue');
    t.same((await conveyor.listQueues('admin')).sort(), ['admin', 'admin-dlq', 'admin.fifo']);
    await queue.send('x');
    await queue.flush();
    await queue.purge();
    t.equal((await queue.getAttributes()).counts.visible, 0, 'purged');
    await queue.deleteQueue();
    await t.rejects(queue.getAttributes(), { code: 'QueueDoesNotExist', requestId: /.+/ }, 'server errors carry the code and the request id');
    const err = await queue.send('gone').catch((e: unknown) => e);
    t.match(err, { code: 'QueueDoesNotExist', retryable: false });
  });

  t.test('gzip-compressed batches are accepted', async (t) => {
    const zipped = new Conveyor({ endpoint: stack.endpoint, credentials: TEST_CREDENTIALS, gzipMinBytes: 0 });
    t.teardown(() => zipped.close());
    const queue = await zipped.createQueue('gzip');
    const bodies = Array.from({ length: 300 }, (_, i) => `compressible ${i} `.repeat(40));
    const sent = await Promise.all(bodies.map((b) => queue.send(b)));
    t.equal(new Set(sent.map((s) => s.messageId)).size, 300, 'every message sent through gzip bodies');
    const got: string[] = [];
    let largest = 0;
    for (let i = 0; i < 100 && got.length < 300; i++) {
      const batch = await queue.receive({ max: 200, waitSeconds: 1 });
      largest = Math.max(largest, batch.length);
      got.push(...batch.map((m) => m.body));
      await Promise.all(batch.map((m) => queue.delete(m)));
    }
    t.same(got.sort(), [...bodies].sort(), 'and received intact');
    t.ok(largest > 10, `native receives take more than SQS's 10 at once (${largest})`);
    t.equal((await queue.getAttributes()).counts.inflight, 0, 'and the batched deletes removed them all');

    const signer = new RequestSigner({ credentials: TEST_CREDENTIALS });
    const raw = async (encoding: string, body: Buffer): Promise<number> => {
      const url = `${stack.endpoint}/native/ListQueues`;
      const headers = { 'content-type': 'application/x-msgpack', 'content-encoding': encoding };
      const { host: _host, ...signed } = await signer.sign({ method: 'POST', url, headers, body });
      const res = await request(url, { method: 'POST', headers: signed, body });
      await res.body.dump();
      return res.statusCode;
    };
    t.equal(await raw('gzip', gzipSync(encodeNative({}))), 200, 'a gzipped body by hand');
    t.equal(await raw('gzip', Buffer.from('not gzip at all')), 400, 'a corrupt gzip body is a 400, not a crash');
    t.equal(await raw('br', encodeNative({})), 400, 'other encodings are refused');
  });

  t.test('property: sent messages are received with body and attributes intact, FIFO groups in order, none after deletion', async (t) => {
    const attributeArb = fc.dictionary(
      fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/),
      fc.oneof(
        fc.string({ minLength: 1, maxLength: 20, unit: 'binary' }).filter(allowedText).map((s) => ({ DataType: 'String', StringValue: s })),
        fc.integer().map((n) => ({ DataType: 'Number', StringValue: String(n) })),
        fc.uint8Array({ minLength: 1, maxLength: 16 }).map((b) => ({ DataType: 'Binary.raw', BinaryValue: b })),
      ),
      { maxKeys: 3 },
    );
    const sizeArb = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 3_000 }), weight: 9 }, { arbitrary: fc.integer({ min: 3_000, max: 262_144 }), weight: 1 });
    const messageArb = fc.record({ size: sizeArb, group: fc.integer({ min: 0, max: 3 }), attributes: attributeArb });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 40 }), fc.boolean(), async (specs, fifo) => {
        run += 1;
        const name = fifo ? `prop-${run}.fifo` : `prop-${run}`;
        const queue = await conveyor.createQueue(name, fifo ? { contentBasedDeduplication: false } : {});
        const outgoing: OutgoingMessage[] = specs.map((s, i) => ({
          body: `${i}:`.padEnd(s.size, 'x'),
          ...(Object.keys(s.attributes).length > 0 && { attributes: s.attributes }),
          ...(fifo && { groupId: `g${s.group}`, dedupId: `d${i}` }),
          ...(!fifo && s.group === 3 && { groupId: 'tenant-3' }), // a fair-queue tenant on a standard queue
        }));
        await Promise.all(outgoing.map((m) => queue.send(m)));
        const seen = new Map<number, ReceivedMessage>();
        const lastInGroup = new Map<string, number>();
        const deleted = new Set<string>();
        const consumer = queue.consume(async (m) => {
          const index = Number(m.body.slice(0, m.body.indexOf(':')));
          if (deleted.has(m.messageId)) throw new Error(`message ${index} received after deletion`);
          const group = m.systemAttributes.MessageGroupId;
          if (fifo && group !== undefined) {
            const last = lastInGroup.get(group) ?? -1;
            if (index < last) throw new Error(`group ${group}: ${index} after ${last}`);
            lastInGroup.set(group, index);
          }
          seen.set(index, m);
        }, { concurrency: 8, waitSeconds: 1, visibilityTimeout: 30, onProcessed: (m) => deleted.add(m.messageId), onError: (e, stage) => { if (stage === 'handler') failures.push(e); } });
        const failures: unknown[] = [];
        const deadline = Date.now() + 20_000;
        while (seen.size < outgoing.length && failures.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await consumer.stop();
        if (failures.length > 0) throw failures[0];
        if (seen.size !== outgoing.length) throw new Error(`received ${seen.size} of ${outgoing.length}`);
        for (const [i, m] of seen) {
          const want = outgoing[i]!;
          if (m.body !== want.body) throw new Error(`message ${i}: body changed`);
          const got = canonical(m.attributes);
          const expected = canonical(want.attributes);
          if (got !== expected) throw new Error(`message ${i}: attributes ${got} != ${expected}`);
        }
        const after = await queue.receive({ max: 10, waitSeconds: 0 });
        if (after.length > 0) throw new Error(`${after.length} message(s) received after every message was deleted`);
        await queue.deleteQueue();
      }),
      { numRuns: 15, endOnFailure: true },
    );
    t.pass('held for every generated sequence');
  });
});
