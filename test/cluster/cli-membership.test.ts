/**
 * Cluster membership through the `conveyor` CLI, against a local Conveyor started as `npm start`
 * starts it: a cluster added and used for new queues, a node added (it catches up and joins the
 * in-sync set), the leader drained (leadership moves, its replica is handed on) and removed,
 * refusals and bad input with their exit codes, and a restart that brings every added cluster
 * and node back.
 */
import t from 'tap';
import { removeDir, startLocalConveyor, type LocalConveyor } from '../support/local-conveyor.ts';

interface Topology {
  clusters: Array<{ id: string; replicas: number; leader: string | null; epoch: number | null; isr: string[]; nodes: Array<{ id: string; standing: string; running: boolean }> }>;
}
interface Status {
  clusters: Array<{ id: string; leader: string | null; isr: string[]; nodes: Array<{ id: string; live: boolean }>; queues: Record<string, { visible: number }> }>;
}

async function topology(c: LocalConveyor): Promise<Topology> {
  const res = await c.cli('cluster', 'list', '--json');
  if (res.code !== 0) throw new Error(`cluster list failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Topology;
}

const clusterOf = (topo: Topology, id: string) => topo.clusters.find((c) => c.id === id)!;

t.test('cluster add|list and node add|drain|remove through the CLI', async (t) => {
  let conveyor = await startLocalConveyor();
  t.teardown(async () => {
    await conveyor.stop();
    removeDir(conveyor.dataDir);
  });
  const cli = (...args: string[]) => conveyor.cli(...args);

  // A second cluster; the metadata service places the next queue on it (it is the emptier one).
  t.equal((await cli('queue', 'create', 'on-first')).code, 0);
  const added = await cli('cluster', 'add', '--replicas', '3');
  t.equal(added.code, 0, `cluster add exits 0 ${added.stderr}`);
  t.match(added.stdout, /added cluster c2 \(3 replicas\)/);
  const listed = await cli('cluster', 'list');
  t.match(listed.stdout, /^c2\s+3\s+2\s+\d+\s+c2n\d/m, 'cluster list shows the new cluster with a leader');
  t.match((await cli('queue', 'create', 'on-second')).stdout, /\(cluster c2\)/, 'a new queue goes to the new cluster');
  t.equal((await cli('queue', 'send', 'on-second', 'placed')).code, 0, 'and serves messages');

  // Messages on c1 before its membership changes; every one must still be there at the end.
  const sends = await Promise.all([0, 1, 2, 3, 4].map((i) => cli('queue', 'send', 'on-first', `m${i}`)));
  t.same(sends.map((r) => r.code), [0, 0, 0, 0, 0], 'five messages sent');

  const nodeAdded = await cli('node', 'add', '--cluster', 'c1');
  t.equal(nodeAdded.code, 0, `node add exits 0 ${nodeAdded.stderr}`);
  t.match(nodeAdded.stdout, /added c1n4 to c1; it is in sync/);
  let c1 = clusterOf(await topology(conveyor), 'c1');
  t.ok(c1.isr.includes('c1n4'), 'the new node caught up and is in the in-sync set');

  // Drain the leader: leadership moves to another node, the node leaves the in-sync set and stops.
  const leader = c1.leader!;
  const epochBefore = c1.epoch!;
  const refusedRemove = await cli('node', 'remove', leader);
  t.equal(refusedRemove.code, 1, 'removing a node that is not drained is refused');
  t.match(refusedRemove.stderr, new RegExp(`Node ${leader} is not drained; run "conveyor node drain ${leader}" first\\.`));
  const drained = await cli('node', 'drain', leader);
  t.equal(drained.code, 0, `node drain exits 0 ${drained.stderr}`);
  t.match(drained.stdout, new RegExp(`drained ${leader}$`, 'm'), 'the added node already holds the replica: no new node was needed');
  c1 = clusterOf(await topology(conveyor), 'c1');
  t.not(c1.leader, leader, 'another node leads');
  t.ok(c1.epoch! > epochBefore, 'in a new epoch');
  t.notOk(c1.isr.includes(leader), 'the drained node is out of the in-sync set');
  t.equal(c1.isr.length, 3, 'and the cluster still keeps 3 replicas in sync');
  t.same(c1.nodes.find((n) => n.id === leader), { id: leader, cluster: 'c1', standing: 'drained', running: false, url: null, pid: null }, 'the drained node is stopped');
  let drainedRow = '';
  for (let i = 0; i < 20 && !/drained/.test(drainedRow); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 250)); // the metadata service learns of it through a watch
    drainedRow = (await cli('status')).stdout.split('\n').find((line) => line.startsWith(`${leader} `)) ?? '';
  }
  t.match(drainedRow, new RegExp(`^${leader} +follower +drained `), 'status shows the drained node as drained, not down');
  const again = await cli('node', 'drain', leader);
  t.equal(again.code, 1, 'draining it again is refused');
  t.match(again.stderr, new RegExp(`Node ${leader} is drained\\.`));

  // Drain a node of the 3-node cluster c2: a new node is added to take its replica.
  const c2 = clusterOf(await topology(conveyor), 'c2');
  const follower = c2.nodes.find((n) => n.id !== c2.leader)!.id;
  const handedOn = await cli('node', 'drain', follower);
  t.equal(handedOn.code, 0, `drain in a cluster without a spare node ${handedOn.stderr}`);
  t.match(handedOn.stdout, new RegExp(`drained ${follower}; its replica moved to the new node c2n4`));
  t.equal(clusterOf(await topology(conveyor), 'c2').isr.length, 3, 'c2 keeps 3 replicas in sync');

  const removed = await cli('node', 'remove', leader);
  t.equal(removed.code, 0, `node remove of the drained node ${removed.stderr}`);
  t.notOk(clusterOf(await topology(conveyor), 'c1').nodes.some((n) => n.id === leader), 'cluster list no longer shows it');
  // The metadata service learns of it through a ZooKeeper watch: look a few times.
  let status = JSON.parse((await cli('status', '--json')).stdout) as Status;
  for (let i = 0; i < 20 && status.clusters.find((c) => c.id === 'c1')!.nodes.some((n) => n.id === leader); i++) {
    await new Promise((r) => setTimeout(r, 250));
    status = JSON.parse((await cli('status', '--json')).stdout) as Status;
  }
  t.notOk(status.clusters.find((c) => c.id === 'c1')!.nodes.some((n) => n.id === leader), 'nor does status: its membership is gone');
  t.equal(status.clusters.find((c) => c.id === 'c1')!.queues['000000000000:on-first']?.visible, 5, 'every message is still there');

  // Bad input: usage errors exit 2 with one sentence (or the usage), refusals exit 1.
  const cases: Array<[string[], number, RegExp]> = [
    [['node', 'drain', 'c9n9'], 2, /There is no node c9n9; nodes: /],
    [['node', 'remove', leader], 2, new RegExp(`There is no node ${leader}; nodes: `)],
    [['node', 'add', '--cluster', 'c9'], 2, /There is no cluster c9; clusters: c1, c2\./],
    [['node', 'add'], 2, /required option '--cluster <id>' not specified[\s\S]*Usage: conveyor node add/],
    [['cluster', 'add', '--replicas', 'many'], 2, /--replicas must be a whole number from 1 to 7, not "many"\./],
    [['cluster', 'add', '--replicas', '9'], 2, /--replicas must be a whole number from 1 to 7, not 9\./],
    [['cluster', 'frob'], 2, /unknown command 'frob'[\s\S]*Usage: conveyor cluster/],
    [['node', 'restart', '--everything'], 2, /unknown option '--everything'[\s\S]*Usage: conveyor node restart/],
    [['node', 'restart'], 2, /Give either a node id or --rolling\./],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(...args)));
  for (const [i, [args, code, message]] of cases.entries()) {
    const res = results[i]!;
    t.equal(res.code, code, `conveyor ${args.join(' ')} exits ${code}`);
    t.match(res.stderr, message, `conveyor ${args.join(' ')} says why`);
  }

  // A restart with the same data directory brings back the added cluster and nodes, not the drained ones.
  t.equal(await conveyor.stop(), 0, 'Ctrl-C stops everything');
  const notRunning = await cli('cluster', 'list');
  t.equal(notRunning.code, 2, 'cluster list without a running Conveyor exits 2');
  t.match(notRunning.stderr, /Conveyor is not running with data in .*; start it with "npm start"\./);
  conveyor = await startLocalConveyor({ dataDir: conveyor.dataDir });
  const after = await topology(conveyor);
  t.same(after.clusters.map((c) => c.id), ['c1', 'c2'], 'both clusters are back');
  const running = (id: string) => clusterOf(after, id).nodes.filter((n) => n.running).map((n) => n.id).sort();
  t.same(running('c1'), ['c1n1', 'c1n2', 'c1n3', 'c1n4'].filter((n) => n !== leader), 'c1 runs its active nodes, the added one included');
  t.same(running('c2'), ['c2n1', 'c2n2', 'c2n3', 'c2n4'].filter((n) => n !== follower), 'c2 runs its active nodes, the replacement included');
  t.notOk(clusterOf(after, 'c2').nodes.find((n) => n.id === follower)!.running, 'the drained node stays stopped');
  const received = await cli('queue', 'receive', 'on-second', '--delete');
  t.match(received.stdout, /placed/, 'the queue on the added cluster kept its message');
});
