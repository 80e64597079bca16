/**
 * The headline benchmark: Conveyor driven through the client SDK. Without --endpoint it starts a
 * local Conveyor with the launcher (`npm start`'s code: ZooKeeper, a cluster of 3 replicated
 * nodes with quorum acks and fsync, the metadata service, a frontend) in a temporary data
 * directory on free ports, and stops it at the end; with --endpoint it drives a running one.
 *   1. throughput: producers and consumers at once on one queue, 1 KiB messages;
 *   2. the same two halves one after the other, as other brokers are usually measured: every
 *      message sent first (sends/s alone), then the backlog drained (receive+delete/s alone);
 *   3. latency at low load: one message at a time, from the start of `send` to the start of the
 *      consumer's handler, with --latency-gap-ms between messages so the consumer is waiting when
 *      each one comes (no load means no queueing), after --latency-warmup untimed messages (the
 *      processes' code for this path is compiled by then, as in any long-running deployment).
 * The last line printed is JSON: sends/s and receive+delete/s of the concurrent run, the same
 * of the separate halves (`sendOnlyPerSec`, `drainPerSec`), latency p50/p99, the round trip of a
 * bare HTTP request to the frontend under the same conditions (`httpRoundTripP50Ms`/`P99Ms`: a
 * message's way is as many hops as three of them) and each process's peak resident memory (VmHWM
 * of the launcher's children and of this process).
 * First --warmup messages (default 100,000; 0 for none) go through producers and consumers at
 * once, untimed, so every process runs compiled code when the clock starts.
 *   npm run bench -- [--messages N] [--warmup N] [--size BYTES] [--producers P] [--consumers C] [--in-flight W]
 *                    [--consumer-concurrency N] [--receive-batch N]
 *                    [--latency-samples N] [--latency-warmup N] [--latency-gap-ms MS] [--batch-entries N] [--batches-in-flight N] [--replicas R] [--frontends F]
 *                    [--endpoint URL (--access-key K --secret-key S | --data-dir DIR)] [--region R]
 * With --endpoint, --data-dir names a running `npm start`'s data directory: its run.json lists the
 * backend nodes, whose peak memory is then reported too, and the key to sign with.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { Conveyor, type ConveyorOptions } from '@conveyor/client-sdk';
import { RUN_FILE, startLocalCluster, type RunInfo } from '../../cluster/src/launcher/local-cluster.ts';
import { freePort } from '../../cluster/src/launcher/processes.ts';
import { scrapeTotals, timingReport, type ServerEndpoints, type Totals } from './server-timings.ts';
import { percentile } from './timed.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '100000' },
    size: { type: 'string', default: '1024' },
    producers: { type: 'string', default: '4' },
    consumers: { type: 'string', default: '4' },
    'in-flight': { type: 'string', default: '1000' },
    // Each consumer's prefetch bound: 400 (of 4 consumers) keeps the drain fed while a message
    // spends little time buffered in the SDK, where a longer stay costs it garbage collection.
    'consumer-concurrency': { type: 'string', default: '400' },
    'receive-batch': { type: 'string', default: '250' },
    'latency-samples': { type: 'string', default: '1000' },
    'latency-warmup': { type: 'string', default: '2000' },
    'latency-gap-ms': { type: 'string', default: '10' },
    'batch-entries': { type: 'string', default: '1000' },
    'batches-in-flight': { type: 'string', default: '4' },
    replicas: { type: 'string', default: '3' },
    frontends: { type: 'string', default: '1' },
    endpoint: { type: 'string' },
    'data-dir': { type: 'string' },
    'access-key': { type: 'string' },
    'secret-key': { type: 'string' },
    region: { type: 'string', default: 'us-east-1' },
  },
  strict: true,
});

function positiveInteger(name: string): number {
  const text = values[name as keyof typeof values] as string;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer, not "${text}"\n`);
    process.exit(2);
  }
  return n;
}
const total = positiveInteger('messages');
const size = positiveInteger('size');
const producers = positiveInteger('producers');
const consumers = positiveInteger('consumers');
const inFlight = positiveInteger('in-flight');
const consumerConcurrency = positiveInteger('consumer-concurrency');
const receiveBatch = positiveInteger('receive-batch');
const latencySamples = positiveInteger('latency-samples');
/** A non-negative integer flag (0 allowed). */
function countFlag(name: string): number {
  const text = values[name as keyof typeof values] as string;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`--${name} must be a non-negative integer, not "${text}"\n`);
    process.exit(2);
  }
  return n;
}
const warmupMessages = countFlag('warmup');
const latencyWarmup = countFlag('latency-warmup');
const latencyGapMs = countFlag('latency-gap-ms');
const batchEntries = positiveInteger('batch-entries');
const batchesInFlight = positiveInteger('batches-in-flight');

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Peak resident memory (VmHWM) of a process in MiB, or undefined once it is gone. */
function peakRssMb(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** This process's children (the launcher's processes) with readable names. */
function childProcesses(): Array<{ pid: number; name: string }> {
  const out: Array<{ pid: number; name: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const after = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
      const name = args.some((a) => a.includes('zookeeper')) && args[0]!.endsWith('java') ? 'zookeeper'
        // By their flags: each runs from its bundle (or its .ts through tsx).
        : args.includes('--node-id') ? `node-${after('--node-id')}`
        : args.includes('--metadata') ? `frontend-${after('--listen')?.split(':')[1]}`
        : args.includes('--zookeeper') ? 'metadata'
        : args.some((a) => a.includes('esbuild')) ? 'esbuild'
        : `pid-${entry}`;
      out.push({ pid: Number(entry), name });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
  } catch {
    return 0;
  }
}

/** CPU used per process since `before`, in ms per 1,000 messages: the cost, whatever else the machine is doing. */
function cpuReport(processes: Array<{ pid: number; name: string }>, before: Map<number, number>, messages: number, what = 'sent, received and deleted'): string {
  const parts: string[] = [];
  for (const { pid, name } of processes) {
    const used = cpuSeconds(pid) - (before.get(pid) ?? 0);
    parts.push(`${name} ${((used * 1000 * 1000) / messages).toFixed(1)}`);
  }
  return `CPU ms per 1,000 messages (${what}): ${parts.join(', ')}`;
}

/** Keyed by pid: two processes may share a name (the launcher's esbuild has a helper of its own). */
function cpuSnapshot(processes: Array<{ pid: number; name: string }>): Map<number, number> {
  return new Map(processes.map(({ pid }) => [pid, cpuSeconds(pid)]));
}

/** A body of exactly `size` bytes that starts with its index. */
function bodyOf(i: number): string {
  const head = `${i}:`;
  return head + 'x'.repeat(Math.max(0, size - head.length));
}

/** Sends `count` messages through the producers' clients, `inFlight` sends at a time; resolves when all are acknowledged. */
async function produce(clients: Conveyor[], queueName: string, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    clients.slice(0, producers).map(async (client) => {
      const queue = client.queue(queueName);
      const window = async (): Promise<void> => {
        while (next < count) await queue.send(bodyOf(next++));
      };
      await Promise.all(Array.from({ length: Math.ceil(inFlight / producers) }, window));
    }),
  );
}

/** Starts the consumers; `done` resolves once `count` messages were handled (or after 2 minutes) and the last deletes are in. */
function consumeAll(clients: Conveyor[], queueName: string, count: number): { done: Promise<number> } {
  let received = 0;
  let allReceived: () => void = () => undefined;
  const receivedAll = new Promise<void>((resolve) => (allReceived = resolve));
  const running = clients.slice(0, consumers).map((c) =>
    c.queue(queueName).consume(() => {
      received += 1;
      if (received === count) allReceived();
    }, { concurrency: consumerConcurrency, batchSize: receiveBatch, waitSeconds: 1, onError: (e, stage) => log(`consumer ${stage} error: ${(e as Error).message}`) }),
  );
  const done = (async (): Promise<number> => {
    const timeout = setTimeout(() => allReceived(), 120_000);
    await receivedAll;
    clearTimeout(timeout);
    await Promise.all(running.map((c) => c.stop())); // waits for the last deletes
    return received;
  })();
  return { done };
}

/** Producers and consumers at once on a queue of its own, with `count` messages. */
async function throughput(options: ConveyorOptions, queueName: string, count: number): Promise<{ sendPerSec: number; receiveDeletePerSec: number }> {
  const clients = Array.from({ length: Math.max(producers, consumers) }, () => new Conveyor(options));
  await clients[0]!.createQueue(queueName);
  const consumeStart = performance.now();
  const consuming = consumeAll(clients, queueName, count);
  const sendStart = performance.now();
  await produce(clients, queueName, count);
  const sendSeconds = (performance.now() - sendStart) / 1000;
  log(`sent ${count} in ${sendSeconds.toFixed(2)} s`);
  const received = await consuming.done;
  const consumeSeconds = (performance.now() - consumeStart) / 1000;
  log(`received and deleted ${received} in ${consumeSeconds.toFixed(2)} s`);
  await clients[0]!.queue(queueName).deleteQueue().catch(() => undefined);
  await Promise.all(clients.map((c) => c.close()));
  return { sendPerSec: Math.round(count / sendSeconds), receiveDeletePerSec: Math.round(received / consumeSeconds) };
}

/** Sends every message first, then drains the backlog: each half's rate alone. */
async function separateHalves(options: ConveyorOptions, queueName: string, measured: Array<{ pid: number; name: string }>): Promise<{ sendOnlyPerSec: number; drainPerSec: number }> {
  const clients = Array.from({ length: Math.max(producers, consumers) }, () => new Conveyor(options));
  await clients[0]!.createQueue(queueName);
  let cpuBefore = cpuSnapshot(measured);
  const timesBefore = await scrapeAll();
  const sendStart = performance.now();
  await produce(clients, queueName, total);
  const sendSeconds = (performance.now() - sendStart) / 1000;
  log(`sent ${total} (no consumers) in ${sendSeconds.toFixed(2)} s; ${cpuReport(measured, cpuBefore, total, 'sent')}`);
  const timesAfterSends = await scrapeAll();
  logTimings(timesBefore, timesAfterSends);
  cpuBefore = cpuSnapshot(measured);
  const drainStart = performance.now();
  const received = await consumeAll(clients, queueName, total).done;
  const drainSeconds = (performance.now() - drainStart) / 1000;
  log(`drained ${received} (received and deleted) in ${drainSeconds.toFixed(2)} s; ${cpuReport(measured, cpuBefore, total, 'received and deleted')}`);
  logTimings(timesAfterSends, await scrapeAll());
  await clients[0]!.queue(queueName).deleteQueue().catch(() => undefined);
  await Promise.all(clients.map((c) => c.close()));
  return { sendOnlyPerSec: Math.round(total / sendSeconds), drainPerSec: Math.round(received / drainSeconds) };
}

async function latency(options: ConveyorOptions, queueName: string): Promise<{ p50: number; p99: number }> {
  const conveyor = new Conveyor(options);
  const queue = await conveyor.createQueue(queueName);
  const sentAt = new Map<number, number>();
  const samples: number[] = [];
  let arrived: (() => void) | undefined;
  const consumer = queue.consume((m) => {
    const started = performance.now();
    const i = Number(m.body.slice(0, m.body.indexOf(':')));
    const at = sentAt.get(i);
    if (at !== undefined) samples.push(started - at);
    arrived?.();
  }, { concurrency: 1, batchSize: 1, waitSeconds: 20 });
  await new Promise((r) => setTimeout(r, 200)); // the long poll is waiting
  for (let i = 0; i < latencyWarmup + latencySamples; i++) {
    const got = new Promise<void>((resolve) => (arrived = resolve));
    if (i >= latencyWarmup) sentAt.set(i, performance.now());
    await queue.send(bodyOf(i));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([got, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
    clearTimeout(timer); // a pending 5 s timer would hold the process open after the last figures
    if (latencyGapMs > 0) await new Promise((r) => setTimeout(r, latencyGapMs));
  }
  await consumer.stop();
  await queue.deleteQueue().catch(() => undefined);
  await conveyor.close();
  samples.sort((a, b) => a - b);
  return { p50: Math.round(percentile(samples, 50) * 100) / 100, p99: Math.round(percentile(samples, 99) * 100) / 100 };
}

/**
 * The floor under the latency figures: bare HTTP round trips to the frontend (GET /health, which
 * does nothing), as many and as far apart as the latency samples. A message's way from `send` to
 * a handler is six one-way hops, as many as three such round trips (client → frontend → leader;
 * leader → follower → leader, the commit; leader → frontend → client), and the fsyncs besides.
 * Undefined where the endpoint has no /health.
 */
async function httpRoundTrip(url: string): Promise<{ p50: number; p99: number } | undefined> {
  const pool = new Pool(url, { connections: 1 });
  try {
    const samples: number[] = [];
    for (let i = 0; i < latencyWarmup + latencySamples; i++) {
      const started = performance.now();
      const res = await pool.request({ path: '/health', method: 'GET', headersTimeout: 5_000, bodyTimeout: 5_000 });
      await res.body.dump();
      if (res.statusCode !== 200) return undefined;
      if (i >= latencyWarmup) samples.push(performance.now() - started);
      if (latencyGapMs > 0) await new Promise((r) => setTimeout(r, latencyGapMs));
    }
    samples.sort((a, b) => a - b);
    return { p50: Math.round(percentile(samples, 50) * 100) / 100, p99: Math.round(percentile(samples, 99) * 100) / 100 };
  } catch {
    return undefined;
  } finally {
    await pool.close();
  }
}

let cluster: Awaited<ReturnType<typeof startLocalCluster>> | undefined;
let dataDir: string | undefined;
let endpoint = values.endpoint;
if (!endpoint) {
  dataDir = mkdtempSync(join(tmpdir(), 'conveyor-bench-'));
  log(`starting a local Conveyor (${values.replicas} replicas, data in ${dataDir})…`);
  cluster = await startLocalCluster({ dataDir, port: await freePort(), clusters: 1, replicas: positiveInteger('replicas'), frontends: positiveInteger('frontends'), say: log });
  endpoint = cluster.endpoint;
}
/** The launcher's own key; for --endpoint, --access-key/--secret-key or the key in --data-dir's run.json. */
function benchCredentials(): { accessKeyId: string; secretAccessKey: string } {
  if (cluster?.credentials) return cluster.credentials;
  if (values['access-key'] && values['secret-key']) return { accessKeyId: values['access-key'], secretAccessKey: values['secret-key'] };
  const fromRun = runInfo(values['data-dir'])?.credentials;
  if (fromRun) return fromRun;
  if (cluster) return { accessKeyId: 'local', secretAccessKey: 'local' }; // started with authentication off
  process.stderr.write('npm run bench: with --endpoint, give --access-key and --secret-key, or --data-dir of the running npm start\n');
  process.exit(2);
}
const options: ConveyorOptions = {
  endpoint: cluster?.frontends ?? endpoint,
  credentials: benchCredentials(),
  region: values.region,
  sendBatching: { maxEntries: batchEntries, maxInFlight: batchesInFlight },
  ackBatching: { maxEntries: batchEntries, maxInFlight: batchesInFlight },
};
const peaks: Record<string, number> = {};
/** A local Conveyor's run.json (its nodes, frontends and key), if `dir` holds one. */
function runInfo(dir: string | undefined): RunInfo | undefined {
  if (!dir || !existsSync(join(dir, RUN_FILE))) return undefined;
  return JSON.parse(readFileSync(join(dir, RUN_FILE), 'utf8')) as RunInfo;
}
/** The backend nodes a running `npm start` lists in its run.json (for --endpoint runs). */
function runFileNodes(dir: string | undefined): Array<{ pid: number; name: string }> {
  return (runInfo(dir)?.nodes ?? []).map((n) => ({ pid: n.pid, name: `node-${n.id}` }));
}
/** The frontends and backend nodes whose metrics the phase timings come from (nodes only with a run.json). */
function serverEndpoints(): ServerEndpoints {
  const info = runInfo(dataDir ?? values['data-dir']);
  return { frontends: info?.frontends ?? cluster?.frontends ?? [endpoint!], nodes: info?.nodes ?? [] };
}
/** This process's (the SDK's) garbage collection pauses so far, reported beside the servers'. */
const ownGc = { sum: 0, count: 0 };
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    ownGc.sum += entry.duration / 1000;
    ownGc.count += 1;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
/** The servers' metrics and this process's own GC pauses, for a phase's report. */
async function scrapeAll(): Promise<Totals> {
  const totals = await scrapeTotals(servers);
  totals.set('bench nodejs_gc_duration_seconds', { ...ownGc });
  return totals;
}
/** Where the phase's time went on the servers (see server-timings.ts). */
function logTimings(before: Totals, after: Totals): void {
  const report = timingReport(before, after);
  if (report) log(`  server time per call: ${report}`);
}
const children = cluster ? childProcesses() : runFileNodes(values['data-dir']); // found once: scanning /proc is not free
const servers = serverEndpoints();
const sample = (): void => {
  for (const { pid, name } of children) {
    const mb = peakRssMb(pid);
    if (mb !== undefined) peaks[name] = Math.max(peaks[name] ?? 0, mb);
  }
};
const sampler = setInterval(sample, 500);
try {
  const suffix = Date.now().toString(36);
  log(`throughput: ${total} messages of ${size} bytes, ${producers} producers (${inFlight} sends in flight), ${consumers} consumers (up to ${consumerConcurrency} messages each)`);
  const measured = [...children, { pid: process.pid, name: 'bench' }];
  if (warmupMessages > 0) {
    log(`warming up: ${warmupMessages} messages sent, received and deleted untimed`);
    await throughput(options, `bench-warmup-${suffix}`, warmupMessages);
  }
  const cpuBefore = cpuSnapshot(measured);
  const timesBefore = await scrapeAll();
  const { sendPerSec, receiveDeletePerSec } = await throughput(options, `bench-${suffix}`, total);
  log(cpuReport(measured, cpuBefore, total));
  logTimings(timesBefore, await scrapeAll());
  log('the same, in two halves: every message sent, then the backlog drained');
  const { sendOnlyPerSec, drainPerSec } = await separateHalves(options, `bench-halves-${suffix}`, measured);
  log(`latency: ${latencySamples} messages one at a time, ${latencyGapMs} ms apart, after ${latencyWarmup} untimed`);
  const timesBeforeLatency = await scrapeAll();
  const { p50, p99 } = await latency(options, `bench-latency-${suffix}`);
  // Where a lone message's time goes: each hop's mean (long polls include their wait).
  logTimings(timesBeforeLatency, await scrapeAll());
  const floor = await httpRoundTrip(cluster?.frontends[0] ?? endpoint!);
  sample();
  clearInterval(sampler);
  const self = peakRssMb(process.pid);
  if (self !== undefined) peaks.bench = self;
  log(`sends/s ${sendPerSec}, receive+delete/s ${receiveDeletePerSec} (at once); alone: sends/s ${sendOnlyPerSec}, drain ${drainPerSec}/s; e2e latency p50 ${p50} ms, p99 ${p99} ms`);
  if (floor) log(`a bare HTTP round trip to the frontend (GET /health, as far apart): p50 ${floor.p50} ms, p99 ${floor.p99} ms; a message's way from send to handler is three round trips' worth of hops, and fsyncs`);
  console.log(JSON.stringify({ sendPerSec, receiveDeletePerSec, sendOnlyPerSec, drainPerSec, e2eLatencyP50Ms: p50, e2eLatencyP99Ms: p99, httpRoundTripP50Ms: floor?.p50, httpRoundTripP99Ms: floor?.p99, peakRssMb: peaks }));
} finally {
  clearInterval(sampler);
  gcObserver.disconnect();
  await cluster?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
