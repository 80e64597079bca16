/**
 * Fault tests of a replicated cluster: real ZooKeeper, three backend node processes, killed,
 * paused and restarted while clients write. Every test records which sends were acknowledged and
 * checks, after the faults, that each of them can still be received; duplicates are counted.
 */
import t, { type Test } from 'tap';
import { NativeClient, startCluster, type TestCluster } from '../support/index.ts';

const SESSION_TIMEOUT_MS = 2_000;

async function openCluster(t: Test): Promise<{ cluster: TestCluster; client: NativeClient }> {
  const cluster = await startCluster({ nodes: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS, replicaLagMs: 1_000 });
  t.teardown(() => cluster.close());
  await cluster.waitForLeader();
  const client = new NativeClient({ nodes: cluster.nodes.map((n) => n.url), deadlineMs: 30_000, requestTimeoutMs: 5_000 });
  t.teardown(() => client.close());
  return { cluster, client };
}

/** Sends `total` messages with bodies "m<i>" from `producers` concurrent loops; returns the acknowledged bodies. */
async function produce(client: NativeClient, queue: string, total: number, producers: number, onAck?: (count: number) => void): Promise<{ acked: Set<string>; failedBatches: number }> {
  const acked = new Set<string>();
  let next = 0;
  let failedBatches = 0;
  await Promise.all(
    Array.from({ length: producers }, async () => {
      while (next < total) {
        const first = next;
        next += 10;
        const entries = Array.from({ length: Math.min(10, total - first) }, (_, k) => ({ id: `e${k}`, body: `m${first + k}`, dedupId: queue.endsWith('.fifo') ? `m${first + k}` : undefined, groupId: queue.endsWith('.fifo') ? `g${(first + k) % 5}` : undefined }));
        try {
          const res = await client.call('SendMessageBatch', { queue, entries });
          for (const s of res.successful) acked.add(entries[Number(s.id.slice(1))]!.body);
          onAck?.(acked.size);
        } catch {
          failedBatches += 1; // not acknowledged: may or may not have been written
        }
      }
    }),
  );
  return { acked, failedBatches };
}

/** Receives (and deletes) everything in the queue; returns how often each body was received. */
async function drain(client: NativeClient, queue: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  let emptyInARow = 0;
  // Bounded: stops after three empty long polls, or a generous number of passes.
  for (let pass = 0; pass < 100_000 && emptyInARow < 3; pass++) {
    const { messages } = await client.call('ReceiveMessage', { queue, maxMessages: 10, waitTimeSeconds: 1, visibilityTimeoutSeconds: 600 });
    if (messages.length === 0) {
      emptyInARow += 1;
      continue;
    }
    emptyInARow = 0;
    for (const m of messages) seen.set(m.body, (seen.get(m.body) ?? 0) + 1);
    await client.call('DeleteMessageBatch', { queue, entries: messages.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
  }
  return seen;
}

function duplicates(seen: Map<string, number>): number {
  let n = 0;
  for (const count of seen.values()) n += count - 1;
  return n;
}

t.test('SIGKILL of the leader while 8 producers send 20,000 messages loses no acknowledged message', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'kill-leader' });
  const { id: oldLeader, epoch } = await cluster.waitForLeader();
  let killedAt = 0;
  let killing: Promise<void> | undefined;
  const production = produce(client, 'kill-leader', 20_000, 8, (count) => {
    if (count >= 4_000 && !killing) {
      killedAt = Date.now();
      killing = cluster.kill(oldLeader);
    }
  });
  await new Promise((r) => setTimeout(r, 0));
  const { acked, failedBatches } = await production;
  await killing;
  t.ok(killedAt > 0, 'the leader was killed mid-stream');

  const next = await cluster.waitForLeader();
  t.not(next.id, oldLeader, 'another node leads');
  t.ok(next.epoch > epoch, `the epoch went up (${epoch} → ${next.epoch})`);

  const seen = await drain(client, 'kill-leader');
  const lost = [...acked].filter((b) => !seen.has(b));
  t.same(lost, [], `every acknowledged message is received (${acked.size} acknowledged, ${failedBatches} batches failed)`);
  t.comment(`received ${seen.size} distinct messages, ${duplicates(seen)} duplicates, ${client.retries} client retries`);
});

t.test('a new leader serves within 5 s of a SIGKILL', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'failover-time' });
  const { id: oldLeader } = await cluster.waitForLeader();
  const killedAt = Date.now();
  await cluster.kill(oldLeader);
  await client.call('SendMessageBatch', { queue: 'failover-time', entries: [{ id: 'a', body: 'after the kill' }] });
  const elapsed = Date.now() - killedAt;
  t.ok(elapsed < 5_000, `a send succeeded ${elapsed} ms after the leader was killed (session timeout ${SESSION_TIMEOUT_MS} ms)`);
});

t.test('a leader paused past its session wakes harmless, rejoins as a follower, and nothing acknowledged is lost', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'pause' });
  const before = await produce(client, 'pause', 500, 2);
  const { id: oldLeader, epoch } = await cluster.waitForLeader();
  const oldUrl = cluster.nodes.find((n) => n.id === oldLeader)!.url;
  await cluster.pause(oldLeader);
  // Requests sent to the paused leader wait in its socket; it must refuse them when it wakes.
  const direct = new NativeClient({ nodes: [oldUrl], deadlineMs: 1 });
  t.teardown(() => direct.close());
  const queued = Array.from({ length: 5 }, (_, i) =>
    direct.callNode(oldUrl, 'SendMessageBatch', { queue: 'pause', entries: [{ id: 'x', body: `while-paused-${i}` }] }, 30_000).then(
      () => 'acknowledged',
      (e: { code?: string }) => e.code ?? 'failed',
    ),
  );
  const next = await cluster.waitFor(
    async () => {
      const others = cluster.nodes.filter((n) => n.id !== oldLeader);
      for (const n of others) {
        const s = await cluster.status(n.id).catch(() => undefined);
        if (s?.role === 'leader' && s.epoch > epoch) return s;
      }
      return undefined;
    },
    15_000,
    'a new leader while the old one is paused',
  );
  const during = await produce(client, 'pause', 500, 2);
  await cluster.resume(oldLeader);
  const answers = await Promise.all(queued);
  t.notOk(answers.includes('acknowledged'), `the woken leader acknowledged none of the requests queued while it slept (${answers.join(', ')})`);
  const after = await direct.callNode(oldUrl, 'SendMessageBatch', { queue: 'pause', entries: [{ id: 'y', body: 'after-wake' }] }, 5_000).then(
    () => 'acknowledged',
    (e: { code?: string }) => e.code ?? 'failed',
  );
  t.not(after, 'acknowledged', `nor a request sent after it woke (${after})`);
  await cluster.waitFor(async () => {
    const s = await cluster.status(oldLeader).catch(() => undefined);
    return s && s.role === 'follower' && s.epoch === next.epoch && s.leader === next.nodeId ? s : undefined;
  }, 15_000, 'the old leader to follow the new one');
  t.pass('the old leader rejoined as a follower');

  const seen = await drain(client, 'pause');
  const acked = [...before.acked, ...during.acked];
  t.same(acked.filter((b) => !seen.has(b)), [], `every acknowledged message is received (${acked.length})`);
  t.notOk([...seen.keys()].some((b) => b.startsWith('while-paused') || b === 'after-wake'), 'nothing sent to the deposed leader exists');
});

t.test('a killed follower catches up after a restart and returns to the in-sync set', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'follower' });
  const { id: leader } = await cluster.waitForLeader();
  const follower = cluster.nodes.find((n) => n.id !== leader)!.id;
  await cluster.kill(follower);
  const while1 = await produce(client, 'follower', 3_000, 4);
  t.equal(while1.failedBatches, 0, 'writes go on with two of three nodes');
  await cluster.waitFor(async () => {
    const s = await cluster.status(leader);
    return !s.isr.includes(follower) ? s : undefined;
  }, 10_000, 'the dead follower to leave the ISR');
  t.pass('the dead follower left the ISR');
  await cluster.restart(follower);
  const while2 = await produce(client, 'follower', 1_000, 2);
  const caughtUp = await cluster.waitFor(async () => {
    const [l, f] = await Promise.all([cluster.status(leader), cluster.status(follower)]);
    return l.isr.includes(follower) && f.logEnd >= l.highWatermark && f.appliedEnd > 0 ? { l, f } : undefined;
  }, 15_000, 'the restarted follower to rejoin the ISR');
  t.ok(caughtUp.l.isr.includes(follower), `the follower is back in the ISR (${caughtUp.l.isr.join(',')})`);
  const seen = await drain(client, 'follower');
  const acked = [...while1.acked, ...while2.acked];
  t.same(acked.filter((b) => !seen.has(b)), [], 'every acknowledged message is received');
});
