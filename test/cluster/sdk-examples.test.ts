/**
 * The README's SDK examples (examples/producer.ts, examples/consumer.ts) run as written against a
 * local stack: the producer sends 100 orders, the consumer handles them all and stops cleanly on
 * SIGINT. (`npm run typecheck` type-checks them.)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Conveyor } from '@conveyor/client-sdk';
import { startStack } from '../support/index.ts';
import { TEST_CREDENTIALS } from '../support/credentials.ts';
import { nodeEnv } from '../support/cluster.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Running {
  output: () => string;
  exited: Promise<number | null>;
  signal: (name: NodeJS.Signals) => void;
}

function run(file: string, endpoint: string): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: REPO_ROOT,
    env: { ...nodeEnv(), CONVEYOR_ENDPOINT: endpoint, CONVEYOR_ACCESS_KEY: TEST_CREDENTIALS.accessKeyId, CONVEYOR_SECRET_KEY: TEST_CREDENTIALS.secretAccessKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(timer));
  return { output: () => output, exited, signal: (name) => child.kill(name) };
}

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('the README examples run as written', async (t) => {
  const stack = await startStack();
  t.teardown(() => stack.close());

  const producer = run('examples/producer.ts', stack.endpoint);
  t.equal(await producer.exited, 0, 'the producer exits cleanly');
  t.match(producer.output(), /^sent 100 orders; the first is message [0-9a-f-]{36}$/m, producer.output());

  const consumer = run('examples/consumer.ts', stack.endpoint);
  await waitFor('the consumer to handle every order', () => consumer.output().includes('handled 100 orders'), 30_000).catch((e: Error) => t.fail(`${e.message}: ${consumer.output()}`));
  consumer.signal('SIGINT');
  t.equal(await consumer.exited, 0, 'the consumer stops cleanly on SIGINT');
  t.match(consumer.output(), /stopped after 100 orders/);
  t.notMatch(consumer.output(), /failed/, 'no errors were reported');

  const check = new Conveyor({ endpoint: stack.endpoint, credentials: TEST_CREDENTIALS });
  t.teardown(() => check.close());
  const { counts } = await check.queue('orders').getAttributes();
  t.same(counts, { visible: 0, inflight: 0, delayed: 0 }, 'every order was deleted');
});
