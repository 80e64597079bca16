/**
 * `conveyor node restart --rolling` under load: a producer and a consumer keep working through
 * the frontend (the SDK's NativeClient, which retries until its deadline) while every backend node
 * restarts, one at a time. No request fails beyond its retries and every acknowledged message is
 * received; duplicates are allowed and counted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { NativeClient } from '@conveyor/client-sdk';
import { removeDir, startLocalConveyor } from '../support/local-conveyor.ts';

interface RunFile {
  nodes: Array<{ id: string; pid: number }>;
}
interface Topology {
  clusters: Array<{ id: string; leader: string | null; epoch: number | null; isr: string[] }>;
}

const QUEUE = 'rolling';

t.test('a rolling restart under load loses no acknowledged message and fails no request', async (t) => {
  const conveyor = await startLocalConveyor();
  t.teardown(async () => {
    await conveyor.stop();
    removeDir(conveyor.dataDir);
  });
  // A short visibility timeout: a message whose delete was lost comes back soon (as a duplicate).
  t.equal((await conveyor.cli('queue', 'create', QUEUE, '--attribute', 'VisibilityTimeout=5')).code, 0);
  const pidsBefore = (JSON.parse(readFileSync(join(conveyor.dataDir, 'run.json'), 'utf8')) as RunFile).nodes;
  const before = JSON.parse((await conveyor.cli('cluster', 'list', '--json')).stdout) as Topology;

  const client = new NativeClient({ nodes: [conveyor.endpoint], deadlineMs: 30_000, credentials: conveyor.credentials });
  t.teardown(() => client.close());
  const acked = new Set<string>();
  const received = new Map<string, number>();
  const failures: string[] = [];
  let producing = true;
  let consuming = true;

  // Four producers, one consumer.
  const produce = async (p: number): Promise<void> => {
    // Bounded by `producing` (cleared after the restart) and the cap.
    for (let i = 0; producing && i < 100_000; i++) {
      const body = `m-${p}-${i}`;
      try {
        const res = await client.call('SendMessageBatch', { queue: QUEUE, entries: [{ id: 'e', body }] });
        if (res.failed.length > 0) failures.push(`send ${body}: ${res.failed[0]!.code} ${res.failed[0]!.message}`);
        else acked.add(body);
      } catch (error) {
        failures.push(`send ${body}: ${(error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const producers = Promise.all([0, 1, 2, 3].map(produce));
  const consumer = (async () => {
    for (let i = 0; consuming && i < 100_000; i++) {
      try {
        const { messages } = await client.call('ReceiveMessage', { queue: QUEUE, maxMessages: 10, waitTimeSeconds: 1 });
        for (const m of messages) received.set(m.body, (received.get(m.body) ?? 0) + 1);
        if (messages.length === 0) continue;
        const res = await client.call('DeleteMessageBatch', { queue: QUEUE, entries: messages.map((m, j) => ({ id: `d${j}`, receiptHandle: m.receiptHandle })) });
        for (const f of res.failed) failures.push(`delete: ${f.code} ${f.message}`);
      } catch (error) {
        failures.push(`receive/delete: ${(error as Error).message}`);
      }
    }
  })();

  await new Promise((r) => setTimeout(r, 1_000));
  const restart = await conveyor.cli('node', 'restart', '--rolling');
  t.equal(restart.code, 0, `the rolling restart succeeds ${restart.stderr}`);
  t.equal(restart.stdout.match(/^restarted c1n\d/gm)?.length, 3, 'every node restarted, one at a time');
  t.match(restart.stdout, /\(after handing its leadership over\)/, 'the leader after a graceful handoff');
  await new Promise((r) => setTimeout(r, 1_000));
  producing = false;
  await producers;

  // Let the consumer take the rest: bounded by a deadline.
  const deadline = Date.now() + 30_000;
  while ([...acked].some((b) => !received.has(b)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  consuming = false;
  await consumer;

  t.same(failures, [], 'no client request failed beyond its retries');
  t.ok(acked.size > 200, `messages were produced throughout (${acked.size})`);
  const lost = [...acked].filter((b) => !received.has(b));
  t.same(lost, [], 'every acknowledged message was received');
  const duplicates = [...received.values()].reduce((n, c) => n + c - 1, 0);
  t.comment(`${acked.size} messages acknowledged, ${received.size} distinct received, ${duplicates} duplicate deliveries, ${client.retries} client retries`);

  const pidsAfter = (JSON.parse(readFileSync(join(conveyor.dataDir, 'run.json'), 'utf8')) as RunFile).nodes;
  for (const { id, pid } of pidsBefore) t.not(pidsAfter.find((n) => n.id === id)?.pid, pid, `${id} runs as a new process`);
  const after = JSON.parse((await conveyor.cli('cluster', 'list', '--json')).stdout) as Topology;
  t.ok(after.clusters[0]!.epoch! > before.clusters[0]!.epoch!, 'leadership moved (a new epoch)');
  t.equal(after.clusters[0]!.isr.length, 3, 'all three nodes are back in sync');
});
