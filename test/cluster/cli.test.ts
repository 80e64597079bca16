/**
 * The `conveyor` CLI against a local Conveyor started by the same command as `npm start`:
 * queue lifecycle, status (table and JSON; queues by name, another account's as <account>/<name>),
 * a node killed and seen down, and exit codes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { request } from 'undici';
import { conveyor, removeDir, startLocalConveyor } from '../support/local-conveyor.ts';

const cli = (dataDir: string, ...args: string[]) => conveyor(dataDir, args);

interface Status {
  clusters: Array<{ id: string; leader: string | null; epoch: number; nodes: Array<{ id: string; live: boolean }>; queues: Record<string, { visible: number }> }>;
}

t.test('the conveyor CLI operates a local Conveyor', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'conveyor-cli-'));
  const notRunning = await cli(dataDir, 'status');
  t.equal(notRunning.code, 2, 'status without a running Conveyor exits 2');
  t.match(notRunning.stderr, /is not running/, 'and says so');

  const local = await startLocalConveyor({ dataDir });
  t.teardown(async () => {
    await local.stop();
    removeDir(dataDir);
  });
  t.match(local.output(), /SQS endpoint:/, 'the local Conveyor is up');

  t.equal((await cli(dataDir, 'queue', 'create', 'jobs')).code, 0, 'queue create');
  t.match((await cli(dataDir, 'queue', 'list')).stdout, /^jobs$/m, 'queue list');
  const sent = await cli(dataDir, 'queue', 'send', 'jobs', 'hello from the cli');
  t.equal(sent.code, 0, 'queue send');
  const status = JSON.parse((await cli(dataDir, 'status', '--json')).stdout) as Status;
  t.equal(status.clusters[0]?.queues['000000000000:jobs']?.visible, 1, 'status --json counts the message (queues by id: <account>:<name>)');
  // Another account's queue of the same name (made through the metadata API, as a frontend would).
  const { metadataUrl } = JSON.parse(readFileSync(join(dataDir, 'run.json'), 'utf8')) as { metadataUrl: string };
  const made = await request(`${metadataUrl}/v1/queues`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'jobs', owner: '111111111111' }) });
  t.equal(made.statusCode, 200, 'another account’s "jobs"');
  await made.body.dump();
  const table = (await cli(dataDir, 'status')).stdout;
  t.match(table, /leader/, 'status prints a table');
  t.match(table, /^jobs +1 +0 +0$/m, 'the local account’s queue by its name, with its count');
  t.match(table, /^111111111111\/jobs +0 +0 +0$/m, 'another account’s as <account>/<name>');
  t.notMatch(table, /000000000000:jobs/, 'no queue ids in the table');
  t.match(table, /^c1n\d +(leader|follower) +live /m, 'nodes that run are live');
  const ids = Object.keys((JSON.parse((await cli(dataDir, 'status', '--json')).stdout) as Status).clusters[0]!.queues).sort();
  t.same(ids, ['000000000000:jobs', '111111111111:jobs'], 'status --json keeps the ids');
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
  t.match((await cli(dataDir, 'status')).stdout, new RegExp(`^${victim} +follower +DOWN `, 'm'), 'as DOWN in the table');
  t.equal((await cli(dataDir, 'queue', 'send', 'jobs', 'still served')).code, 0, 'two of three nodes still serve');
  const unknown = await cli(dataDir, 'node', 'kill', 'no-such-node');
  t.equal(unknown.code, 2, 'an unknown node exits 2');
  t.match(unknown.stderr, /There is no node no-such-node/);
  const missing = await cli(dataDir, 'queue', 'attributes', 'nope');
  t.equal(missing.code, 1, 'a failed operation exits 1');
  t.match(missing.stderr, /QueueDoesNotExist/, 'naming the error code');
  const usage = await cli(dataDir, 'bogus');
  t.equal(usage.code, 2, 'an unknown command exits 2');

  t.equal(await local.stop(), 0, 'Ctrl-C stops it');
});
