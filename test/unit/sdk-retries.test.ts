/**
 * The SDK's retries against a scripted HTTP server (real sockets, answers chosen by the test):
 * whole-request failures are retried with the same bytes, a batch's retryable entries are resent
 * alone with their idempotency keys while other callers get their own outcomes, a request that
 * gets no answer times out and is retried, and an endpoint that does not answer fails over to the next.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import t from 'tap';
import { Conveyor, decodeNative, encodeNative, type NativeActions } from '@conveyor/client-sdk';
import { TEST_CREDENTIALS } from '../support/credentials.ts';

type SendRequest = NativeActions['SendMessageBatch']['request'];
type Script = (body: Buffer, n: number, res: ServerResponse) => void;

async function scriptedServer(t: { teardown(fn: () => unknown): void }, script: Script): Promise<{ url: string; bodies: Buffer[] }> {
  const bodies: Buffer[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body);
      script(body, bodies.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, bodies };
}

function answer(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-msgpack', 'x-amzn-RequestId': 'rid' });
  res.end(encodeNative(value));
}

const FAST_RETRY = { baseDelayMs: 1, maxDelayMs: 5, totalDeadlineMs: 5_000 };

t.test('a batch: retryable entries are resent alone with their keys; each caller gets its own outcome', async (t) => {
  const server = await scriptedServer(t, (body, n, res) => {
    const req = decodeNative<SendRequest>(body);
    const ok = (id: string) => ({ id, messageId: `m-${req.entries[Number(id)]!.body}`, md5OfBody: '' });
    if (n === 1) {
      answer(res, 200, {
        successful: [ok('0')],
        failed: [
          { id: '1', code: 'ServiceUnavailable', message: 'not now', senderFault: false },
          { id: '2', code: 'InvalidParameterValue', message: 'bad entry', senderFault: true },
        ],
      });
    } else answer(res, 200, { successful: req.entries.map((e) => ok(e.id)), failed: [] });
  });
  const conveyor = new Conveyor({ endpoint: server.url, credentials: TEST_CREDENTIALS, retry: FAST_RETRY });
  t.teardown(() => conveyor.close());
  const queue = conveyor.queue('q');
  const [a, b, c] = await Promise.allSettled([queue.send('a'), queue.send('b'), queue.send('c')]);
  t.match(a, { status: 'fulfilled', value: { messageId: 'm-a' } });
  t.match(b, { status: 'fulfilled', value: { messageId: 'm-b' } }, 'the retryable entry succeeded on its resend');
  t.match(c, { status: 'rejected', reason: { code: 'InvalidParameterValue', message: 'bad entry', requestId: 'rid', retryable: false } }, 'the bad entry failed alone, typed');
  t.equal(server.bodies.length, 2, 'one resend');
  const [first, second] = server.bodies.map((b) => decodeNative<SendRequest>(b));
  t.same(second!.entries.map((e) => e.body), ['b'], 'only the retryable entry went again');
  t.equal(second!.entries[0]!.idempotencyKey, first!.entries[1]!.idempotencyKey, 'with the same idempotency key');
  t.equal(new Set(first!.entries.map((e) => e.idempotencyKey)).size, 3, 'every entry has its own key');
});

t.test('whole-request failures are retried with the same bytes; non-retryable ones are not', async (t) => {
  const server = await scriptedServer(t, (body, n, res) => {
    const req = decodeNative<SendRequest>(body);
    if (req.queue === 'missing') answer(res, 400, { error: { code: 'QueueDoesNotExist', message: 'no such queue' } });
    else if (n <= 2) answer(res, 503, { error: { code: 'NotLeader', message: 'elsewhere' } });
    else answer(res, 200, { successful: [{ id: '0', messageId: 'm', md5OfBody: '' }], failed: [] });
  });
  const conveyor = new Conveyor({ endpoint: server.url, credentials: TEST_CREDENTIALS, retry: FAST_RETRY });
  t.teardown(() => conveyor.close());
  t.match(await conveyor.queue('q').send('x'), { messageId: 'm' });
  t.equal(server.bodies.length, 3, 'two NotLeader answers, then success');
  t.ok(server.bodies.every((b) => b.equals(server.bodies[0]!)), 'every attempt sent the same bytes');
  t.equal(conveyor.retries, 2);
  await t.rejects(conveyor.queue('missing').send('x'), { code: 'QueueDoesNotExist', retryable: false });
  t.equal(server.bodies.length, 4, 'a non-retryable error is not retried');
});

t.test('a request without an answer times out and is retried; an unresponsive endpoint fails over', async (t) => {
  const server = await scriptedServer(t, (_body, n, res) => {
    if (n === 1) return; // never answered
    answer(res, 200, { queues: ['q'] });
  });
  const conveyor = new Conveyor({ endpoint: server.url, credentials: TEST_CREDENTIALS, requestTimeoutMs: 200, retry: FAST_RETRY });
  t.teardown(() => conveyor.close());
  const started = performance.now();
  t.same(await conveyor.listQueues(), ['q']);
  t.ok(performance.now() - started >= 190, 'the first attempt waited for its timeout');
  t.equal(server.bodies.length, 2);

  // The first endpoint accepts requests and never answers them.
  const dead = await scriptedServer(t, () => undefined);
  const other = await scriptedServer(t, (_body, _n, res) => answer(res, 200, { queues: ['elsewhere'] }));
  const failover = new Conveyor({ endpoint: [dead.url, other.url], credentials: TEST_CREDENTIALS, requestTimeoutMs: 100, retry: FAST_RETRY });
  t.teardown(() => failover.close());
  t.same(await failover.listQueues(), ['elsewhere'], 'the call went on to the second endpoint');
  t.same(await failover.listQueues(), ['elsewhere'], 'and the next call starts there');
  t.equal(other.bodies.length, 2);
  t.equal(dead.bodies.length, 1, 'the unresponsive endpoint was tried once');
});
