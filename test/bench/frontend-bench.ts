/**
 * Frontend benchmark: end to end through the SQS JSON protocol with the unchanged
 * @aws-sdk/client-sqs (which checks every MD5). 1 KiB messages, SendMessageBatch of 10 with many
 * loops in flight, then ReceiveMessage of 10 + DeleteMessageBatch. Without --endpoint it starts a
 * whole local stack (ZooKeeper, a 3-node cluster, metadata service, frontend) and stops it at the
 * end; with --endpoint it drives any SQS-compatible endpoint, on a queue of its own that it deletes
 * afterwards. Prints the figures; the last line is JSON.
 * With the local stack it also prints the frontend process's CPU per 1,000 messages (the cost,
 * whatever else the machine is doing); --frontend-cpu-prof DIR writes its V8 CPU profile there.
 * First --warmup messages (default 100,000; 0 for none) go through both phases untimed, so the
 * figures are of warmed-up processes (JIT-compiled code paths, grown pools) on every side: after
 * 20,000, V8 still spent ~0.25–0.45 s per process compiling during the timed receive phase
 * (--trace-opt), after 100,000 about a third of that.
 *   npm run bench:frontend -- [--messages N] [--warmup N] [--concurrency C] [--size BYTES] [--endpoint URL] [--region R] [--frontend-cpu-prof DIR]
 */
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { parseArgs } from 'node:util';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { TestStack } from '../support/stack.ts';
import { TEST_CREDENTIALS } from '../support/credentials.ts';
import { serverNodeArgs } from '@conveyor/cluster';
import { percentile } from './timed.ts';

// The SDK warns once that releases from 2027 need Node 22; not news to a benchmark's reader.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '64' },
    size: { type: 'string', default: '1024' },
    endpoint: { type: 'string' },
    region: { type: 'string', default: 'us-east-1' },
    'frontend-cpu-prof': { type: 'string' },
  },
  strict: true,
});

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, not "${text}"`);
  return n;
}
const total = positiveInteger('messages', values.messages);
const warmupMessages = values.warmup === '0' ? 0 : positiveInteger('warmup', values.warmup);
const concurrency = positiveInteger('concurrency', values.concurrency);
const size = positiveInteger('size', values.size);

/** A body of exactly `size` bytes that starts with its index, so every message is distinct. */
function bodyOf(index: number): string {
  const head = `${index}:`;
  return head + 'x'.repeat(Math.max(0, size - head.length));
}

/** CPU seconds a process has used so far (user, system); undefined without one to look at. */
function cpuSeconds(pid: number | undefined): { user: number; system: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100 }; // utime, stime in clock ticks (100/s)
  } catch {
    return undefined;
  }
}

/** The frontend's CPU per 1,000 messages since `before`, as a phrase for the phase's line. */
function frontendCpu(before: { user: number; system: number } | undefined, messages: number): { text: string; msPer1000?: number } {
  const after = cpuSeconds(stack?.frontend.pid);
  if (before === undefined || after === undefined || messages === 0) return { text: '' };
  const per1000 = (seconds: number): number => Math.round(((seconds * 1000 * 1000) / messages) * 10) / 10;
  const user = after.user - before.user;
  const system = after.system - before.system;
  const msPer1000 = per1000(user + system);
  return { text: `; frontend CPU ${msPer1000} ms per 1,000 messages (user ${per1000(user)}, system ${per1000(system)})`, msPer1000 };
}

/** Every local process's CPU seconds (user + system) now, by name: this client, the frontend, the nodes. */
function everyCpu(): Map<string, number> {
  const out = new Map<string, number>();
  const own = process.cpuUsage();
  out.set('client', (own.user + own.system) / 1e6);
  for (const [name, pid] of processes) {
    const cpu = cpuSeconds(pid);
    if (cpu) out.set(name, cpu.user + cpu.system);
  }
  return out;
}

/** Where the CPU of a phase went, in ms per 1,000 messages: the whole machine's budget at a glance. */
function cpuSplit(before: Map<string, number>, messages: number): string {
  if (messages === 0) return '';
  const after = everyCpu();
  const parts = [...after].map(([name, seconds]) => `${name} ${(((seconds - (before.get(name) ?? seconds)) * 1e6) / messages).toFixed(1)}`);
  return `  CPU ms per 1,000 messages: ${parts.join(', ')}`;
}

let stack: TestStack | undefined;
let endpoint: string;
/** Local server processes to account CPU to (none when driving --endpoint). */
let processes: Array<[string, number]> = [];
if (values.endpoint) endpoint = values.endpoint;
else {
  const { startStack } = await import('../support/stack.ts');
  console.log('starting a local stack (ZooKeeper, 3 backend nodes, metadata service, frontend)…');
  const prof = values['frontend-cpu-prof'];
  stack = await startStack(prof ? { frontend: { nodeArgs: [...serverNodeArgs(), '--cpu-prof', '--cpu-prof-dir', prof] } } : {});
  endpoint = stack.endpoint;
  const cluster = stack.clusters[0]!;
  const leader = await cluster.waitForLeader();
  processes = [['frontend', stack.frontend.pid], ...cluster.nodes.map((n): [string, number] => [n.id === leader.id ? `leader ${n.id}` : `follower ${n.id}`, n.pid])];
}

// Keep-alive with a socket per loop (and some spare): the SDK's default agent would otherwise
// queue requests behind its socket limit or open a connection per request.
const agentOptions = { keepAlive: true, maxSockets: concurrency * 2 };
const httpAgent = new HttpAgent(agentOptions);
const httpsAgent = new HttpsAgent(agentOptions);
const sqs = new SQSClient({
  endpoint,
  region: values.region,
  // The environment's credentials when driving a given endpoint; the test key for the local stack.
  ...(values.endpoint ? {} : { credentials: { ...TEST_CREDENTIALS } }),
  requestHandler: new NodeHttpHandler({ httpAgent, httpsAgent, connectionTimeout: 5_000, requestTimeout: 30_000 }),
});

interface Phase {
  rate: number;
  /** The local frontend's CPU ms per 1,000 messages in this phase. */
  frontendCpuMs?: number;
  p50: number;
  p99: number;
}

/**
 * Runs `concurrency` loops of `worker`, each timing its own requests; returns messages/s and
 * request latency. The clock stops at `finished()` if a loop calls it (the others may still be
 * in a long poll that can only come back empty), else when every loop has returned.
 */
async function timed(label: string | undefined, count: () => number, worker: (latencies: number[], finished: () => void) => Promise<void>): Promise<Phase> {
  const latencies: number[] = [];
  const cpuBefore = cpuSeconds(stack?.frontend.pid);
  const everyBefore = everyCpu();
  const start = process.hrtime.bigint();
  let end: bigint | undefined;
  const finished = (): void => {
    end ??= process.hrtime.bigint();
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker(latencies, finished)));
  const seconds = Number((end ?? process.hrtime.bigint()) - start) / 1e9;
  const done = count();
  const rate = Math.round(done / seconds);
  latencies.sort((a, b) => a - b);
  const cpu = frontendCpu(cpuBefore, done);
  const phase = { rate, p50: percentile(latencies, 50), p99: percentile(latencies, 99), frontendCpuMs: cpu.msPer1000 };
  if (label === undefined) return phase;
  console.log(`${label}: ${done} messages in ${seconds.toFixed(2)} s = ${rate}/s; ${latencies.length} requests, latency p50 ${phase.p50.toFixed(2)} ms, p99 ${phase.p99.toFixed(2)} ms${cpu.text}`);
  const split = cpuSplit(everyBefore, done);
  if (split) console.log(split);
  return phase;
}

async function measure<T>(latencies: number[], call: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint();
  const result = await call();
  latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  return result;
}

/** Sends `count` messages, then receives and deletes them all; prints the figures unless `quiet`. */
async function round(url: string, count: number, quiet: boolean): Promise<{ send: Phase; receiveDelete: Phase }> {
  let nextIndex = 0;
  let sent = 0;
  const send = await timed(
    quiet ? undefined : 'send (SendMessageBatch of 10)',
    () => sent,
    async (latencies) => {
      while (nextIndex < count) {
        const first = nextIndex;
        const n = Math.min(10, count - first);
        nextIndex += n;
        const entries = Array.from({ length: n }, (_, i) => ({ Id: `m${i}`, MessageBody: bodyOf(first + i) }));
        const res = await measure(latencies, () => sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries })));
        if (res.Failed && res.Failed.length > 0) throw new Error(`SendMessageBatch failed: ${JSON.stringify(res.Failed[0])}`);
        sent += res.Successful?.length ?? 0;
      }
    },
  );

  const seen = new Set<string>();
  let deleted = 0;
  let duplicates = 0;
  let emptyPolls = 0;
  const deadline = Date.now() + 10 * 60_000;
  const receiveDelete = await timed(
    quiet ? undefined : 'receive+delete (ReceiveMessage 10 + DeleteMessageBatch)',
    () => deleted,
    async (latencies, finished) => {
      while (seen.size < count) {
        if (Date.now() > deadline) throw new Error(`gave up: ${seen.size} of ${count} received after 10 minutes`);
        // A short wait: answered at once while messages are there, and no busy loop at the tail.
        const res = await measure(latencies, () => sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 })));
        const messages = res.Messages ?? [];
        if (messages.length === 0) {
          emptyPolls++;
          continue;
        }
        for (const m of messages) {
          const index = m.Body?.slice(0, m.Body.indexOf(':'));
          if (index === undefined || seen.has(index)) duplicates++;
          else seen.add(index);
        }
        const entries = messages.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle }));
        const del = await measure(latencies, () => sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries })));
        if (del.Failed && del.Failed.length > 0) throw new Error(`DeleteMessageBatch failed: ${JSON.stringify(del.Failed[0])}`);
        deleted += del.Successful?.length ?? 0;
        if (seen.size >= count) finished();
      }
    },
  );
  if (!quiet) console.log(`received ${seen.size} distinct messages (${duplicates} duplicate deliveries, ${emptyPolls} empty polls)`);
  return { send, receiveDelete };
}

const queueName = `bench-${Date.now()}-${process.pid}`;
let queueUrl: string | undefined;
let exitCode = 0;
try {
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: queueName }))).QueueUrl;
  if (!queueUrl) throw new Error('CreateQueue answered no QueueUrl');
  const url = queueUrl;
  console.log(`endpoint ${endpoint}, queue ${url}; ${total} messages of ${size} B, ${concurrency} loops in flight`);

  if (warmupMessages > 0) {
    console.log(`warming up with ${warmupMessages} messages…`);
    await round(url, warmupMessages, true);
  }
  const { send, receiveDelete } = await round(url, total, false);
  console.log(JSON.stringify({ sendPerSec: send.rate, receiveDeletePerSec: receiveDelete.rate, frontendCpuMsPer1000: { send: send.frontendCpuMs, receiveDelete: receiveDelete.frontendCpuMs } }));
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  if (queueUrl) await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch((error: unknown) => console.error(`could not delete ${queueUrl}: ${String(error)}`));
  sqs.destroy();
  httpAgent.destroy();
  httpsAgent.destroy();
  await stack?.close();
}
process.exit(exitCode);
