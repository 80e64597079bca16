/**
 * Moving a queue to another backend cluster under load (drain-and-switch): producers and a
 * consumer keep working through a router that asks the metadata service where the queue lives;
 * every acknowledged message is received, and the old cluster no longer holds the queue.
 */
import t from 'tap';
import { NativeClient } from '@conveyor/client-sdk';
import { RoutedQueueClient, startCluster, startMetadataService, startZooKeeper, type RoutedMessage } from '../support/index.ts';

const ROOT = '/move-test';

t.test('moving a queue between clusters under load loses no acknowledged message', async (t) => {
  const zookeeper = await startZooKeeper();
  t.teardown(() => zookeeper.stop());
  const [a, b] = await Promise.all([
    startCluster({ nodes: 2, clusterId: 'ca', zookeeper, zkRoot: ROOT, sessionTimeoutMs: 2_000 }),
    startCluster({ nodes: 2, clusterId: 'cb', zookeeper, zkRoot: ROOT, sessionTimeoutMs: 2_000 }),
  ]);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await Promise.all([a.waitForLeader(), b.waitForLeader()]);
  const meta = await startMetadataService({ zookeeper, zkRoot: ROOT });
  t.teardown(() => meta.stop());
  await meta.call('GET', '/v1/clusters'); // let it see both clusters
  const created = await meta.call<{ queue: { clusterId: string } }>('POST', '/v1/queues', { name: 'moving' });
  t.equal(created.status, 200, 'the queue is created');
  const from = created.body.queue.clusterId;
  const to = from === 'ca' ? 'cb' : 'ca';

  const router = new RoutedQueueClient(meta.url);
  t.teardown(() => router.close());
  const acked = new Set<string>();
  const received = new Set<string>();
  let next = 0;
  let producing = true;
  const produce = async (): Promise<void> => {
    while (producing) {
      const entries = Array.from({ length: 10 }, (_, k) => ({ id: `e${k}`, body: `m${next++}` }));
      const ok = await router.send('moving', entries);
      for (const s of ok) acked.add(entries[Number(s.id.slice(1))]!.body);
    }
  };
  let consuming = true;
  const consume = async (): Promise<void> => {
    while (consuming) {
      const messages: RoutedMessage[] = await router.receive('moving', 10, 5);
      for (const m of messages) received.add(m.body);
      if (messages.length > 0) await router.delete('moving', messages);
      else await new Promise((r) => setTimeout(r, 20));
    }
  };
  const workers = [produce(), produce(), consume()];
  const waitUntil = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await waitUntil('2,000 acknowledged sends', () => acked.size >= 2_000, 30_000);
  const move = await meta.call('POST', '/v1/queues/moving/move', { to });
  t.equal(move.status, 200, `the move from ${from} to ${to} starts`);
  await waitUntil('the move to finish', async () => {
    const q = await meta.call<{ queue: { clusterId: string; move?: unknown } }>('GET', '/v1/queues/moving');
    return q.body.queue.clusterId === to && q.body.queue.move === undefined;
  }, 60_000);
  t.pass('the record names the new cluster');
  const afterSwitch = acked.size;
  await waitUntil('more sends after the switch', () => acked.size >= afterSwitch + 500, 30_000);
  producing = false;
  await Promise.all(workers.slice(0, 2));
  // Drain what is left, then stop the consumer.
  let quiet = 0;
  await waitUntil('the queue to drain', () => {
    quiet = [...acked].every((b) => received.has(b)) ? quiet + 1 : 0;
    return quiet > 5;
  }, 60_000);
  consuming = false;
  await workers[2];

  const lost = [...acked].filter((body) => !received.has(body));
  t.same(lost.slice(0, 10), [], `every acknowledged message is received (${acked.size} acknowledged, ${lost.length} missing)`);
  const old = new NativeClient({ nodes: (from === 'ca' ? a : b).nodes.map((n) => n.url), deadlineMs: 5_000 });
  t.teardown(() => old.close());
  await t.rejects(old.call('GetQueue', { queue: '000000000000:moving' }), { code: 'QueueDoesNotExist' }, 'the old cluster no longer holds the queue');
});
