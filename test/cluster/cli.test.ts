/**
 * The `conveyor` CLI against a local Conveyor started by the same command as `npm start`:
 * queue lifecycle, status (table and JSON), a node killed and seen down, and exit codes.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
const CLI = join(ROOT, 'node_modules', '.bin', 'conveyor');

function cli(dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CLI, ['--data-dir', dataDir, ...args], { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Status {
  clusters: Array<{ id: string; leader: string | null; epoch: number; nodes: Array<{ id: string; live: boolean }>; queues: Record<string, { visible: number }> }>;
}

t.test('the conveyor CLI operates a local Conveyor', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const notRunning = await cli(dataDir, 'status');
  t.equal(notRunning.code, 2, 'status without a running Conveyor exits 2');
  t.match(notRunning.stderr, /is not running/, 'and says so');

  const launcher = spawn(START[0]!, [...START.slice(1), '--data-dir', dataDir, '--port', String(await freePort())], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => launcher.kill('SIGINT'));
  let out = '';
  launcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 900 && !/SQS endpoint:/.test(out); i++) {
    if (launcher.exitCode !== null) throw new Error(`npm start exited: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  t.match(out, /SQS endpoint:/, 'the local Conveyor is up');

  t.equal((await cli(dataDir, 'queue', 'create', 'jobs')).code, 0, 'queue create');
  t.match((await cli(dataDir, 'queue', 'list')).stdout, /^jobs$/m, 'queue list');
  const sent = await cli(dataDir, 'queue', 'send', 'jobs', 'hello from the cli');
  t.equal(sent.code, 0, 'queue send');
  const status = JSON.parse((await cli(dataDir, 'status', '--json')).stdout) as Status;
  t.equal(status.clusters[0]?.queues['000000000000:jobs']?.visible, 1, 'status --json counts the message (queues by id: <account>:<name>)');
  t.match((await cli(dataDir, 'status')).stdout, /leader/, 'status prints a table');
  const received = await cli(dataDir, 'queue', 'receive', 'jobs', '--delete');
  t.match(received.stdout, /hello from the cli/, 'queue receive');
  t.match((await cli(dataDir, 'queue', 'attributes', 'jobs')).stdout, /ApproximateNumberOfMessages=0/, 'queue attributes after the delete');

  const leader = status.clusters[0]!.leader!;
  const victim = status.clusters[0]!.nodes.find((n) => n.id !== leader)!.id;
  t.equal((await cli(dataDir, 'node', 'kill', victim)).code, 0, `node kill ${victim}`);
  let seenDown = false;
  for (let i = 0; i < 60 && !seenDown; i++) {
    const s = JSON.parse((await cli(dataDir, 'status', '--json')).stdout) as Status;
    seenDown = s.clusters[0]!.nodes.some((n) => n.id === victim && !n.live);
    if (!seenDown) await new Promise((r) => setTimeout(r, 500));
  }
  t.ok(seenDown, 'status shows the killed node down');
  t.equal((await cli(dataDir, 'queue', 'send', 'jobs', 'still served')).code, 0, 'two of three nodes still serve');
  const unknown = await cli(dataDir, 'node', 'kill', 'no-such-node');
  t.equal(unknown.code, 2, 'an unknown node exits 2');
  t.match(unknown.stderr, /There is no node no-such-node/);
  const missing = await cli(dataDir, 'queue', 'attributes', 'nope');
  t.equal(missing.code, 1, 'a failed operation exits 1');
  t.match(missing.stderr, /QueueDoesNotExist/, 'naming the error code');
  const usage = await cli(dataDir, 'bogus');
  t.equal(usage.code, 2, 'an unknown command exits 2');

  launcher.kill('SIGINT');
  await new Promise((r) => launcher.once('exit', r));
});
