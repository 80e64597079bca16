/**
 * Replication benchmark: a 3-node cluster (private ZooKeeper, three backend node processes on
 * this machine) driven over the native API. 1 KiB messages in batches of 10 with many in flight,
 * then receive+delete, then single-message sends one at a time for latency. Every acknowledged
 * send is on the disks of at least minInSync nodes. The last line is JSON.
 *   npm run bench:replication -- [--messages N] [--concurrency C] [--latency-samples N] [--nodes url,url,url]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { timed } from './timed.ts';
import { NativeClient } from '@conveyor/client-sdk';
import type { TestCluster } from '../support/cluster.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '128' },
    size: { type: 'string', default: '1024' },
    'latency-samples': { type: 'string', default: '2000' },
    nodes: { type: 'string' },
  },
});
const total = Number(values.messages);
const concurrency = Number(values.concurrency);
const body = 'x'.repeat(Number(values.size));

let cluster: TestCluster | undefined;
let urls: string[];
let measured: Array<{ pid: number; name: string }> = [];
if (values.nodes) urls = values.nodes.split(',');
else {
  const { startCluster } = await import('../support/cluster.ts');
  cluster = await startCluster({ nodes: 3, sessionTimeoutMs: 4000 });
  const leader = await cluster.waitForLeader();
  urls = cluster.nodes.map((n) => n.url);
  measured = cluster.nodes.map((n) => ({ pid: n.pid, name: n.id === leader.id ? `leader ${n.id}` : `follower ${n.id}` }));
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

/** Prints the CPU each node used during `phase`, in ms per 1,000 messages: stable whatever else the machine does. */
async function withCpu<T>(phase: string, messages: () => number, run: () => Promise<T>): Promise<T> {
  const before = measured.map(({ pid }) => cpuSeconds(pid));
  const result = await run();
  if (measured.length > 0) {
    const parts = measured.map(({ pid, name }, i) => `${name} ${((cpuSeconds(pid) - before[i]!) * 1e6 / messages()).toFixed(1)}`);
    console.log(`${phase} CPU ms per 1,000 messages: ${parts.join(', ')}`);
  }
  return result;
}
const client = new NativeClient({ nodes: urls, connections: concurrency });
const queue = `bench-${Date.now()}`;

try {
  await client.call('CreateQueue', { queue });


  let toSend = total;
  const sendPerSec = await withCpu('send', () => total, () => timed('send', concurrency, async () => {
    let sent = 0;
    while (toSend > 0) {
      const n = Math.min(10, toSend);
      toSend -= n;
      const res = await client.call('SendMessageBatch', { queue, entries: Array.from({ length: n }, (_, i) => ({ id: String(i), body })) });
      if (res.failed.length > 0) throw new Error(`send failed: ${JSON.stringify(res.failed[0])}`);
      sent += n;
    }
    return sent;
  }));

  let remaining = total;
  const receiveDeletePerSec = await withCpu('receive+delete', () => total, () => timed('receive+delete', concurrency, async () => {
    let done = 0;
    while (remaining > 0) {
      const { messages } = await client.call('ReceiveMessage', { queue, maxMessages: 10, visibilityTimeoutSeconds: 300 });
      if (messages.length === 0) break;
      remaining -= messages.length;
      const res = await client.call('DeleteMessageBatch', { queue, entries: messages.map((m, i) => ({ id: String(i), receiptHandle: m.receiptHandle })) });
      if (res.failed.length > 0) throw new Error(`delete failed: ${JSON.stringify(res.failed[0])}`);
      done += messages.length;
    }
    return done;
  }));

  const samples = Number(values['latency-samples']);
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = process.hrtime.bigint();
    await client.call('SendMessageBatch', { queue, entries: [{ id: 'one', body }] });
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]! * 100) / 100;
  console.log(`single sends, one at a time: p50 ${pct(50)} ms, p99 ${pct(99)} ms over ${samples}`);
  console.log(`client retries: ${client.retries}`);
  console.log(JSON.stringify({ sendPerSec, receiveDeletePerSec, sendLatencyP50Ms: pct(50), sendLatencyP99Ms: pct(99) }));
} finally {
  await client.close();
  await cluster?.close();
}
