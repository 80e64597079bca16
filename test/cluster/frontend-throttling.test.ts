/**
 * Throttling and load shedding against a real local Conveyor whose frontend has small limits:
 * one access key floods at ten times its rate while another key's requests keep succeeding with
 * bounded latency; a flood of made-up keys leaves the limiter's tables (and the process's memory)
 * bounded; parked long polls and requests in flight beyond their caps get 503 with Retry-After at
 * once. Every flooding request is answered (400 RequestThrottled or 503), none hangs.
 */
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { Agent } from 'node:http';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { request } from 'undici';
import { OTHER_TEST_CREDENTIALS, TEST_CREDENTIALS, TEST_REGION, type TestCredentials } from '../support/credentials.ts';
import { startFrontend, startStack } from '../support/index.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const KEY_RPS = 20;
const MAX_TRACKED = 64;
const FRONTEND_ARGS = ['--throttle-key-rps', String(KEY_RPS), '--throttle-key-burst', String(KEY_RPS), '--throttle-queue-rps', '1000', '--throttle-queue-burst', '1000', '--throttle-max-tracked', String(MAX_TRACKED), '--max-long-polls', '2'];
/** The in-flight cap gets a frontend of its own: on a loaded machine a flood could meet it and be shed rather than throttled. */
const IN_FLIGHT_CAP = 24;

interface Outcome {
  ok: boolean;
  status?: number;
  name?: string;
  retryAfter?: string;
  ms: number;
}

async function outcome(promise: Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    await promise;
    return { ok: true, ms: performance.now() - started };
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
    return { ok: false, status: e.$metadata?.httpStatusCode, name: e.name, retryAfter: e.$response?.headers?.['retry-after'], ms: performance.now() - started };
  }
}

t.test('throttling and load shedding', async (t) => {
  const stack = await startStack({ frontendArgs: FRONTEND_ARGS });
  t.teardown(() => stack.close());
  const client = (credentials: TestCredentials) =>
    new SQSClient({
      endpoint: stack.endpoint,
      region: TEST_REGION,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 16 }), connectionTimeout: 5_000, requestTimeout: 15_000 }),
    });
  const flooder = client(TEST_CREDENTIALS);
  const polite = client(OTHER_TEST_CREDENTIALS);
  t.teardown(() => {
    flooder.destroy();
    polite.destroy();
  });
  const scrape = async (): Promise<(pattern: RegExp) => number> => {
    const res = await request(`${stack.endpoint}/metrics`);
    const text = await res.body.text();
    return (pattern) => {
      const line = text.split('\n').find((l) => !l.startsWith('#') && pattern.test(l));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
  };

  const floodUrl = (await flooder.send(new CreateQueueCommand({ QueueName: 'flooded' }))).QueueUrl!;
  const politeUrl = (await polite.send(new CreateQueueCommand({ QueueName: 'polite' }))).QueueUrl!;
  const idleUrl = (await polite.send(new CreateQueueCommand({ QueueName: 'idle' }))).QueueUrl!;
  await new Promise((r) => setTimeout(r, 1_100)); // both keys' buckets full again

  await t.test('one key floods at 10× its limit; another key is served with bounded latency', async (t) => {
    const seconds = 3;
    const flood: Array<Promise<Outcome>> = [];
    const politeCalls: Array<Promise<Outcome>> = [];
    const started = performance.now();
    // Ten times the key's rate, paced by the clock; the other key sends at half its own rate meanwhile.
    // The last pass tops both up to the whole period's count, however late its timer fired.
    for (;;) {
      const elapsedMs = Math.min(performance.now() - started, seconds * 1000);
      while (flood.length < (elapsedMs / 1000) * 10 * KEY_RPS) flood.push(outcome(flooder.send(new SendMessageCommand({ QueueUrl: floodUrl, MessageBody: `flood ${flood.length}` }))));
      while (politeCalls.length < (elapsedMs / 1000) * (KEY_RPS / 2)) politeCalls.push(outcome(polite.send(new SendMessageCommand({ QueueUrl: politeUrl, MessageBody: `polite ${politeCalls.length}` }))));
      if (elapsedMs >= seconds * 1000) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const floodResults = await Promise.all(flood);
    const politeResults = await Promise.all(politeCalls);
    const elapsed = (performance.now() - started) / 1000;
    const accepted = floodResults.filter((r) => r.ok).length;
    const refused = floodResults.filter((r) => !r.ok);
    t.ok(floodResults.length >= 0.95 * 10 * KEY_RPS * seconds, `the flood came at 10× the limit (${floodResults.length} requests in ${elapsed.toFixed(1)} s)`);
    t.ok(accepted <= KEY_RPS + KEY_RPS * elapsed + 5, `the flooding key got about its rate (${accepted} accepted)`);
    t.ok(accepted >= KEY_RPS, 'and no less than its burst');
    t.ok(refused.every((r) => r.status === 400 && r.name === 'RequestThrottled'), 'every refusal is SQS’s RequestThrottled (400)');
    t.ok(refused.every((r) => r.retryAfter !== undefined && Number(r.retryAfter) >= 1), 'with Retry-After');
    t.ok(floodResults.every((r) => r.ms < 10_000), 'no flooding request hangs');
    t.equal(politeResults.filter((r) => r.ok).length, politeResults.length, `the other key’s ${politeResults.length} sends all succeeded`);
    const worst = Math.max(...politeResults.map((r) => r.ms));
    t.ok(worst < 2_000, `with bounded latency (worst ${worst.toFixed(0)} ms)`);
    const metric = await scrape();
    t.ok(metric(/^conveyor_frontend_throttled_total\{scope="key",protocol="json"\}/) >= refused.length, 'throttled requests are counted');
  });

  /** 2,000 requests signed by 2,000 made-up keys against `endpoint`; every one answered. */
  const floodOfMadeUpKeys = async (endpoint: string, queueUrl: string): Promise<Outcome[]> => {
    const batch = async (from: number) => {
      const calls = [];
      for (let i = from; i < from + 200; i++) {
        const key = `AKIAFLOOD${String(i).padStart(11, '0')}`;
        const forged = new SQSClient({ endpoint, region: TEST_REGION, credentials: { accessKeyId: key, secretAccessKey: 'x' }, maxAttempts: 1 });
        calls.push(outcome(forged.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }))).finally(() => forged.destroy()));
      }
      return Promise.all(calls);
    };
    const results = [];
    for (let from = 0; from < 2_000; from += 200) results.push(...(await batch(from)));
    return results;
  };

  await t.test('made-up keys are refused by authentication before they reach the limiter', async (t) => {
    const results = await floodOfMadeUpKeys(stack.endpoint, floodUrl);
    t.ok(results.every((r) => r.status === 403 && r.name === 'InvalidClientTokenId'), 'all 2,000 answered 403 InvalidClientTokenId');
    const after = await scrape();
    t.ok(after(/^conveyor_frontend_rate_limiter_entries\{table="keys"\}/) <= 2, 'the limiter tracks only the configured keys');
    t.ok(after(/^conveyor_frontend_auth_failures_total\{reason="InvalidClientTokenId"\}/) >= 2_000, 'and the refusals are counted');
  });

  await t.test('with authentication off, a flood of made-up keys leaves the limiter and the process bounded', async (t) => {
    const open = await startFrontend(stack.metadata.url, FRONTEND_ARGS, { auth: false });
    t.teardown(() => open.stop());
    const metricsOf = async (): Promise<(pattern: RegExp) => number> => {
      const text = await (await request(`${open.url}/metrics`)).body.text();
      return (pattern) => Number(text.split('\n').find((l) => !l.startsWith('#') && pattern.test(l))?.split(' ').pop() ?? 0);
    };
    const rssBefore = (await metricsOf())(/^process_resident_memory_bytes/);
    const results = await floodOfMadeUpKeys(open.url, `${open.url}/000000000000/flooded`);
    t.equal(results.length, 2_000, '2,000 requests under 2,000 different access keys were all answered');
    t.ok(results.every((r) => r.ok || r.status === 400 || r.status === 503), 'each served, throttled or shed (with authentication off, the key a request claims is what is limited)');
    t.ok(results.some((r) => r.ok), `some served (${results.filter((r) => r.ok).length})`);
    const after = await metricsOf();
    t.ok(after(/^conveyor_frontend_rate_limiter_entries\{table="keys"\}/) <= MAX_TRACKED, `the limiter keeps at most ${MAX_TRACKED} keys`);
    const growth = after(/^process_resident_memory_bytes/) - rssBefore;
    t.ok(growth < 128 * 1024 * 1024, `the frontend’s memory stayed bounded (RSS grew ${(growth / 1048576).toFixed(1)} MiB)`);
    const health = await request(`${open.url}/health`);
    t.equal(health.statusCode, 200, 'and it is still up');
    await health.body.dump();
  });

  await t.test('parked long polls beyond their cap are shed at once with 503 and Retry-After', async (t) => {
    await new Promise((r) => setTimeout(r, 1_100));
    const parked = [0, 1].map(() => outcome(polite.send(new ReceiveMessageCommand({ QueueUrl: idleUrl, WaitTimeSeconds: 3 }))));
    await new Promise((r) => setTimeout(r, 500));
    const third = await outcome(polite.send(new ReceiveMessageCommand({ QueueUrl: idleUrl, WaitTimeSeconds: 3 })));
    t.equal(third.status, 503, 'a third long poll is refused with 503');
    t.equal(third.retryAfter, '1', 'with Retry-After');
    t.ok(third.ms < 1_000, `at once (${third.ms.toFixed(0)} ms)`);
    const short = await outcome(polite.send(new ReceiveMessageCommand({ QueueUrl: politeUrl, WaitTimeSeconds: 0 })));
    t.ok(short.ok, 'a short receive still goes through while long polls are parked');
    const done = await Promise.all(parked);
    t.ok(done.every((r) => r.ok && r.ms >= 2_500), 'the parked ones wait their time and succeed');
    const metric = await scrape();
    t.ok(metric(/^conveyor_frontend_shed_total\{reason="long_polls"\}/) >= 1, 'shed long polls are counted');
  });

  await t.test('requests in flight beyond the cap are shed at once with 503 and Retry-After', async (t) => {
    const gate = await startFrontend(stack.metadata.url, [...FRONTEND_ARGS, '--max-in-flight', String(IN_FLIGHT_CAP)]);
    t.teardown(() => gate.stop());
    // Requests whose bodies have not arrived are in flight: IN_FLIGHT_CAP such hold every slot.
    const { hostname, port } = new URL(gate.url);
    const sockets: Socket[] = [];
    t.teardown(() => sockets.forEach((s) => s.destroy()));
    for (let i = 0; i < IN_FLIGHT_CAP; i++) {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.on('error', () => undefined);
      socket.write(`POST / HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AmazonSQS.ListQueues\r\nContent-Length: 100\r\n\r\n{`);
      sockets.push(socket);
    }
    // Until the frontend has read all those headers, a probe is admitted (and refused by authentication).
    const probe = async () => {
      const res = await request(`${gate.url}/?Action=ListQueues`, { headersTimeout: 5_000 });
      return { status: res.statusCode, retryAfter: res.headers['retry-after'], text: await res.body.text() };
    };
    let shed = await probe();
    for (const deadline = Date.now() + 10_000; shed.status !== 503 && Date.now() < deadline; shed = await probe()) await new Promise((r) => setTimeout(r, 50));
    t.equal(shed.status, 503, 'the next request is refused with 503');
    t.equal(shed.retryAfter, '1', 'with Retry-After');
    t.match(shed.text, /<Code>ServiceUnavailable<\/Code>/, 'in the request’s protocol (query: XML)');
    const health = await request(`${gate.url}/health`);
    t.equal(health.statusCode, 200, '/health is never shed');
    await health.body.dump();
    sockets.forEach((s) => s.destroy());
    const viaGate = new SQSClient({ endpoint: gate.url, region: TEST_REGION, credentials: { accessKeyId: OTHER_TEST_CREDENTIALS.accessKeyId, secretAccessKey: OTHER_TEST_CREDENTIALS.secretAccessKey }, maxAttempts: 1 });
    t.teardown(() => viaGate.destroy());
    let after = await outcome(viaGate.send(new SendMessageCommand({ QueueUrl: politeUrl, MessageBody: 'after' })));
    // The slots free as the frontend sees those connections close.
    for (const deadline = Date.now() + 10_000; !after.ok && after.status === 503 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 50));
      after = await outcome(viaGate.send(new SendMessageCommand({ QueueUrl: politeUrl, MessageBody: 'after' })));
    }
    t.ok(after.ok, 'once those go away, requests are served again');
    const text = await (await request(`${gate.url}/metrics`)).body.text();
    const shedCount = Number(text.split('\n').find((l) => l.startsWith('conveyor_frontend_shed_total{reason="in_flight"}'))?.split(' ').pop() ?? 0);
    t.ok(shedCount >= 1, 'shed requests are counted');
  });
});
