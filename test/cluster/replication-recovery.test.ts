/**
 * Recovery of a replicated cluster: a restart of every node and of ZooKeeper keeps every
 * acknowledged message with its receive count; a node that lost its disk rejoins from a snapshot
 * and can then lead; bodies copied out of trimmed log records are deleted with their messages;
 * malformed replication requests are refused and change nothing.
 */
import { rm } from 'node:fs/promises';
import { Level } from 'level';
import { request } from 'undici';
import t, { type Test } from 'tap';
import { decodeNative, encodeNative, NATIVE_CONTENT_TYPE, type NativeError } from '@conveyor/client-sdk/wire';
import { NativeClient, startCluster, type TestCluster } from '../support/index.ts';

async function openCluster(t: Test): Promise<{ cluster: TestCluster; client: NativeClient }> {
  // No log retention: trims (and the snapshots they force on a blank node) come at once.
  const cluster = await startCluster({ nodes: 3, sessionTimeoutMs: 2_000, replicaLagMs: 1_000, extraArgs: ['--log-retention-ms', '0'] });
  t.teardown(() => cluster.close());
  await cluster.waitForLeader();
  const client = new NativeClient({ nodes: cluster.nodes.map((n) => n.url), deadlineMs: 30_000, requestTimeoutMs: 5_000 });
  t.teardown(() => client.close());
  return { cluster, client };
}

/** Sends `count` messages in batches of 10, `windows` batches at a time (1 keeps FIFO groups in order); returns the bodies. */
async function sendMany(client: NativeClient, queue: string, count: number, prefix: string, windows = 1): Promise<string[]> {
  const bodies: string[] = [];
  let next = 0;
  const window = async (): Promise<void> => {
    for (let i = next; i < count; i = next) {
      next += 10;
      const entries = Array.from({ length: Math.min(10, count - i) }, (_, k) => ({ id: `e${k}`, body: `${prefix}${i + k}`, groupId: queue.endsWith('.fifo') ? `g${(i + k) % 3}` : undefined, dedupId: queue.endsWith('.fifo') ? `${prefix}${i + k}` : undefined }));
      const res = await client.call('SendMessageBatch', { queue, entries });
      if (res.failed.length > 0) throw new Error(JSON.stringify(res.failed[0]));
      bodies.push(...entries.map((e) => e.body));
    }
  };
  await Promise.all(Array.from({ length: windows }, window));
  return bodies;
}

/** Receives (and deletes) everything visible, `windows` receivers at once; returns body → ApproximateReceiveCount, in receive order per group. */
async function drain(client: NativeClient, queue: string, windows = 1): Promise<Array<{ body: string; count: number; group?: string }>> {
  const out: Array<{ body: string; count: number; group?: string }> = [];
  const receiver = async (): Promise<void> => {
    let empty = 0;
    for (let pass = 0; pass < 50_000 && empty < 3; pass++) {
      const { messages } = await client.call('ReceiveMessage', { queue, maxMessages: 10, waitTimeSeconds: 1, visibilityTimeoutSeconds: 600 });
      if (messages.length === 0) {
        empty += 1;
        continue;
      }
      empty = 0;
      for (const m of messages) out.push({ body: m.body, count: Number(m.systemAttributes.ApproximateReceiveCount), group: m.systemAttributes.MessageGroupId });
      await client.call('DeleteMessageBatch', { queue, entries: messages.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
    }
  };
  await Promise.all(Array.from({ length: windows }, receiver));
  return out;
}

t.test('stopping every node and ZooKeeper and starting them again keeps every acknowledged message and its receive count', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'durable' });
  await client.call('CreateQueue', { queue: 'durable.fifo', attributes: { FifoQueue: 'true' } });
  const standard = await sendMany(client, 'durable', 300, 's');
  const fifo = await sendMany(client, 'durable.fifo', 90, 'f');
  const { messages: received } = await client.call('ReceiveMessage', { queue: 'durable', maxMessages: 10, visibilityTimeoutSeconds: 1 });
  const deleted = received.slice(0, 4);
  await client.call('DeleteMessageBatch', { queue: 'durable', entries: deleted.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
  const receivedOnce = new Set(received.slice(4).map((m) => m.body));

  for (const node of cluster.nodes) await cluster.stopNode(node.id);
  await cluster.zookeeper.kill();
  await cluster.zookeeper.restart();
  for (const node of cluster.nodes) await cluster.restart(node.id);
  await cluster.waitForLeader(20_000);

  const afterStd = await drain(client, 'durable');
  const gone = new Set(deleted.map((m) => m.body));
  const expected = standard.filter((b) => !gone.has(b));
  const got = new Set(afterStd.map((m) => m.body));
  t.same(expected.filter((b) => !got.has(b)), [], `every undeleted message survives (${expected.length})`);
  t.notOk(afterStd.some((m) => gone.has(m.body)), 'deleted messages stay deleted');
  const counts = afterStd.filter((m) => receivedOnce.has(m.body)).map((m) => m.count);
  t.ok(counts.length === receivedOnce.size && counts.every((c) => c === 2), `messages received once before the restart are on their second receive (${counts.join(',')})`);
  t.ok(afterStd.filter((m) => !receivedOnce.has(m.body)).every((m) => m.count === 1), 'the others on their first');

  const afterFifo = await drain(client, 'durable.fifo');
  t.same(afterFifo.map((m) => m.body).sort(), [...fifo].sort(), 'every FIFO message survives');
  for (const g of ['g0', 'g1', 'g2']) {
    const order = afterFifo.filter((m) => m.group === g).map((m) => Number(m.body.slice(1)));
    t.same(order, [...order].sort((a, b) => a - b), `group ${g} is delivered in order`);
  }
});

t.test('SIGKILL of every node right after receives and deletes: state not yet written is rebuilt from the log', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'crashed' });
  const sent = await sendMany(client, 'crashed', 200, 'c');
  // Received and deleted, and received only, within the nodes' state-write delay of the kill.
  const { messages: first } = await client.call('ReceiveMessage', { queue: 'crashed', maxMessages: 10, visibilityTimeoutSeconds: 1 });
  const { messages: second } = await client.call('ReceiveMessage', { queue: 'crashed', maxMessages: 10, visibilityTimeoutSeconds: 1 });
  const deleted = [...first, ...second.slice(0, 5)];
  await client.call('DeleteMessageBatch', { queue: 'crashed', entries: first.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
  await client.call('DeleteMessageBatch', { queue: 'crashed', entries: second.slice(0, 5).map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })) });
  const receivedOnce = new Set(second.slice(5).map((m) => m.body));
  await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id)));
  for (const node of cluster.nodes) await cluster.restart(node.id);
  await cluster.waitForLeader(20_000);

  const after = await drain(client, 'crashed');
  const gone = new Set(deleted.map((m) => m.body));
  t.equal(gone.size, 15);
  t.notOk(after.some((m) => gone.has(m.body)), 'deleted messages stay deleted');
  t.same(sent.filter((b) => !gone.has(b)).sort(), after.map((m) => m.body).sort(), 'every other message is there, once');
  const counts = after.filter((m) => receivedOnce.has(m.body)).map((m) => m.count);
  t.ok(counts.length === 5 && counts.every((c) => c === 2), `messages received before the kill are on their second receive (${counts.join(',')})`);
});

t.test('a node that lost its data rejoins from a snapshot and can then lead', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'snap' });
  // Enough records that the leader trims its log, so a blank node cannot catch up from the log alone.
  const first = await sendMany(client, 'snap', 15_000, 'a', 8);
  const { id: leader } = await cluster.waitForLeader();
  await cluster.waitFor(async () => ((await cluster.status(leader)).logStart > 0 ? true : undefined), 20_000, 'the leader to trim its log');
  const [blank, other] = cluster.nodes.filter((n) => n.id !== leader).map((n) => n.id) as [string, string];
  await cluster.kill(blank);
  await rm(cluster.node(blank).dataDir, { recursive: true, force: true });
  await cluster.restart(blank);
  const second = await sendMany(client, 'snap', 500, 'b', 8);
  await cluster.waitFor(async () => {
    const [l, b] = await Promise.all([cluster.status(leader), cluster.status(blank)]);
    return l.isr.includes(blank) && b.appliedEnd >= l.highWatermark - 1 ? true : undefined;
  }, 30_000, 'the blank node to catch up and rejoin the ISR');
  t.match(cluster.logTail(blank, 400), /snapshot installed/, 'it caught up through a snapshot');

  // Make the rebuilt node the only possible leader, then let the other one catch up from it.
  await cluster.stopNode(other);
  await cluster.waitFor(async () => (!(await cluster.status(leader)).isr.includes(other) ? true : undefined), 15_000, 'the stopped node to leave the ISR');
  await cluster.kill(leader);
  const next = await cluster.waitFor(async () => {
    const s = await cluster.status(blank).catch(() => undefined);
    return s?.role === 'leader' ? s : undefined;
  }, 15_000, 'the rebuilt node to lead');
  t.equal(next.nodeId, blank, 'the rebuilt node leads');
  await cluster.restart(other);
  const seen = new Set((await drain(client, 'snap', 8)).map((m) => m.body));
  const missing = [...first, ...second].filter((b) => !seen.has(b));
  t.same(missing.slice(0, 10), [], `every message, bodies included, is served by the rebuilt leader (${missing.length} missing of ${first.length + second.length})`);
});

/** Keys of message bodies stored apart from the log (`b!<id>`) in a stopped node's database. */
async function bodyKeys(dataDir: string): Promise<string[]> {
  const db = new Level<string, Buffer>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
  await db.open();
  try {
    return await db.keys({ gte: 'b!', lt: 'b"' }).all();
  } finally {
    await db.close();
  }
}

t.test('bodies copied out of trimmed log records are deleted with their messages, on every node', async (t) => {
  const { cluster, client } = await openCluster(t);
  await client.call('CreateQueue', { queue: 'kept' });
  await client.call('CreateQueue', { queue: 'churn' });
  // Still in the queue when their records are trimmed: their bodies get keys of their own.
  const kept = await sendMany(client, 'kept', 200, 'k');
  const keptEnd = (await cluster.status((await cluster.waitForLeader()).id)).logEnd;
  // Records enough for every node to trim past them; these messages go before theirs are trimmed.
  const churn = await sendMany(client, 'churn', 12_000, 'c', 8);
  t.equal((await drain(client, 'churn', 8)).length, churn.length, 'the churn queue drains');
  const { id: leader } = await cluster.waitForLeader();
  await cluster.waitFor(async () => {
    const all = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id)));
    return all.every((s) => s.logStart > keptEnd) ? true : undefined;
  }, 30_000, `every node to trim its log past offset ${keptEnd}`);

  const back = await drain(client, 'kept');
  t.same(back.map((m) => m.body).sort(), [...kept].sort(), 'the kept messages come back whole, from their copied bodies');
  // Every node's state on disk up to the leader's log end, then a clean stop of each.
  const end = (await cluster.status(leader)).logEnd;
  await cluster.waitFor(async () => {
    const all = await Promise.all(cluster.nodes.map((n) => cluster.status(n.id)));
    return all.every((s) => s.appliedEnd >= end) ? true : undefined;
  }, 30_000, `every node to write its state up to offset ${end}`);
  for (const node of cluster.nodes) await cluster.stopNode(node.id);
  for (const node of cluster.nodes) t.same(await bodyKeys(node.dataDir), [], `node ${node.id} keeps no body of a deleted message`);
});

t.test('malformed or misdirected replication requests are refused with typed errors', async (t) => {
  const { cluster } = await openCluster(t);
  const { id: leader } = await cluster.waitForLeader();
  const leaderUrl = cluster.node(leader).url;
  const follower = cluster.nodes.find((n) => n.id !== leader)!;
  // Followers join the ISR a moment after the election; compare against the settled set.
  const before = await cluster.waitFor(async () => {
    const s = await cluster.status(leader);
    return s.isr.length === cluster.nodes.length ? s : undefined;
  }, 15_000, 'every node to be in the ISR');
  const fetch = async (url: string, body: Buffer): Promise<{ status: number; code?: string }> => {
    const res = await request(`${url}/replication/fetch`, { method: 'POST', headers: { 'content-type': NATIVE_CONTENT_TYPE }, body, headersTimeout: 5_000, bodyTimeout: 5_000 });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, code: res.statusCode === 200 ? undefined : decodeNative<NativeError>(bytes).error.code };
  };
  const valid = { clusterId: cluster.clusterId, followerId: 'intruder', epoch: before.epoch, fetchOffset: 0, lastFetchedEpoch: -1, appliedEnd: 0, maxWaitMs: 0 };
  t.same(await fetch(leaderUrl, Buffer.from([0xc1, 0x00])), { status: 400, code: 'InvalidParameterValue' }, 'bytes that are not msgpack');
  t.same(await fetch(leaderUrl, encodeNative({ ...valid, fetchOffset: -5 })), { status: 400, code: 'InvalidParameterValue' }, 'a negative offset');
  t.same(await fetch(leaderUrl, encodeNative({ ...valid, fetchOffset: 'x' })), { status: 400, code: 'InvalidParameterValue' }, 'an offset that is not a number');
  t.same(await fetch(leaderUrl, encodeNative({ ...valid, fetchOffset: before.logEnd + 1000, lastFetchedEpoch: before.epoch })), { status: 400, code: 'InvalidParameterValue' }, 'an offset past the log end');
  t.same(await fetch(leaderUrl, encodeNative({ ...valid, clusterId: 'another-cluster' })), { status: 400, code: 'InvalidParameterValue' }, 'another cluster');
  t.same(await fetch(follower.url, encodeNative(valid)), { status: 503, code: 'NotLeader' }, 'a node that does not lead');
  t.same(await fetch(leaderUrl, encodeNative({ ...valid, epoch: before.epoch + 1000 })), { status: 503, code: 'NotLeader' }, 'an epoch the leader has not seen is refused');
  const after = await cluster.status(leader);
  t.equal(after.role, 'leader', 'and none of it deposed the leader');
  t.equal(after.epoch, before.epoch, 'or changed the epoch');
  t.same(after.isr, before.isr, 'or the ISR');
});
