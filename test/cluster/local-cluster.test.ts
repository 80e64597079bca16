/**
 * `npm start`'s local cluster, run through the same command as the npm script: it comes up
 * healthy and prints the endpoint, serves SQS clients, stops every process on SIGINT, keeps
 * queues and messages across a restart with the same data directory, and refuses a busy port or
 * a data directory laid out for another cluster with one clear sentence.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sqsError } from '../support/errors.ts';
import { nodeEnv } from '../support/cluster.ts';
import { SERVER_V8_ARGS, freePort } from '@conveyor/cluster';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// The npm script's own command, so the test runs exactly what `npm start` runs.
const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');


function launch(args: string[]) {
  const child = spawn(START[0]!, [...START.slice(1), ...args], { cwd: ROOT, env: nodeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = out.match(pattern);
      if (m) return m;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`did not see ${pattern}; output:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, exited, waitFor, output: () => out };
}

function processesUsing(dir: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(dir) && !/\sZ/.test(l.slice(0, 16)));
}

t.test('npm start brings up a working Conveyor and takes it down again', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-start-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();

  const first = launch(['--data-dir', dataDir, '--port', String(port)]);
  t.teardown(() => first.child.kill('SIGKILL'));
  const [, endpoint] = await first.waitFor(/SQS endpoint: (\S+)/, 90_000);
  t.equal(endpoint, `http://127.0.0.1:${port}`, 'it prints the SQS endpoint');
  const [, accessKeyId, secretAccessKey] = first.output().match(/Access key: (\S+)\nSecret key: (\S+)/) ?? [];
  t.ok(accessKeyId && secretAccessKey, 'and the keys to use');
  t.equal(statSync(join(dataDir, 'auth-keys.json')).mode & 0o777, 0o600, 'kept in the data directory, readable by its owner only');
  const servers = processesUsing(dataDir).filter((line) => /--node-id|--auth-keys/.test(line));
  t.equal(servers.length, 4, 'three backend nodes and a frontend run');
  t.ok(servers.every((line) => SERVER_V8_ARGS.every((arg) => line.includes(` ${arg} `))), `each with ${SERVER_V8_ARGS.join(' ')}`);
  const wrongKey = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  t.teardown(() => wrongKey.destroy());
  t.equal((await sqsError(wrongKey.send(new CreateQueueCommand({ QueueName: 'kept' })))).code, 'InvalidClientTokenId', 'other keys are refused');
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! } });
  t.teardown(() => sqs.destroy());
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'kept' }));
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'still here after a restart' }));

  first.child.kill('SIGINT');
  t.equal(await first.exited, 0, 'Ctrl-C ends it cleanly');
  t.same(processesUsing(dataDir), [], 'and no process it started is left');

  const busy = createServer().listen(port, '127.0.0.1');
  await new Promise((r) => busy.once('listening', r));
  const refused = launch(['--data-dir', dataDir, '--port', String(port)]);
  t.equal(await refused.exited, 1, 'a busy port is refused');
  t.match(refused.output(), new RegExp(`Port ${port} is already in use`), 'with one clear sentence');
  busy.close();
  const wrongLayout = launch(['--data-dir', dataDir, '--port', String(port), '--replicas', '1']);
  t.equal(await wrongLayout.exited, 1, 'a data directory of another layout is refused');
  t.match(wrongLayout.output(), /holds a cluster of 1 × 3 nodes/);

  const second = launch(['--data-dir', dataDir, '--port', String(port)]);
  t.teardown(() => second.child.kill('SIGKILL'));
  await second.waitFor(/SQS endpoint: /, 90_000);
  t.match(second.output(), `Access key: ${accessKeyId}`, 'a restart keeps the same key');
  const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
  t.equal(got.Messages?.[0]?.Body, 'still here after a restart', 'the queue and its message survive a restart with the same data directory');
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0, 'SIGTERM stops it too');
  t.same(processesUsing(dataDir), [], 'leaving nothing running');
});
