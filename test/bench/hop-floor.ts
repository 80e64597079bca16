/**
 * The floor under any latency figure of a message's way: bare HTTP hops between processes on this
 * machine, with no work done at any of them. Starts a chain of relay processes (plain node:http
 * servers; each forwards the body to the next over a keep-alive undici pool and returns the
 * answer, the last one echoes it) and times, one request at a time:
 *   - one round trip to a single process (2 hops);
 *   - a request through the whole chain (2 × processes hops), as a send goes SDK → frontend →
 *     leader → follower and its acknowledgement comes back the same way;
 * each `--gap-ms` apart (the low-load latency phase of `npm run bench` sends every 10 ms) and back
 * to back. The last line is JSON.
 *   npm run bench:hops -- [--processes 3] [--samples 1000] [--gap-ms 10] [--size 1024]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { freePorts } from '@conveyor/cluster';
import { percentile } from './timed.ts';

const OPTIONS = {
  processes: { type: 'string', default: '3' },
  samples: { type: 'string', default: '1000' },
  'gap-ms': { type: 'string', default: '10' },
  size: { type: 'string', default: '1024' },
  // Internal: this process is one relay of the chain.
  relay: { type: 'string' },
  next: { type: 'string' },
} as const;

function parseFlags() {
  try {
    return parseArgs({ options: OPTIONS }).values;
  } catch (error) {
    refuse((error as Error).message.split('\n')[0]!);
  }
}
const values = parseFlags();

/** Bad flags end the run with one line saying which, before anything starts. */
function refuse(message: string): never {
  process.stderr.write(`npm run bench:hops: ${message}\n`);
  process.exit(2);
}

function positive(name: 'processes' | 'samples' | 'size'): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1) refuse(`--${name} must be a positive integer, not ${values[name]}`);
  return n;
}

/** One relay: answers every POST with the next relay's answer to the same body, or the body itself. */
function runRelay(port: number, next: string | undefined): void {
  const pool = next ? new Pool(next, { connections: 4, headersTimeout: 10_000, bodyTimeout: 10_000 }) : undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!pool) return void res.end(body);
      pool
        .request({ path: '/', method: 'POST', body })
        .then(async (answer) => res.end(Buffer.from(await answer.body.arrayBuffer())))
        .catch(() => {
          res.statusCode = 502;
          res.end();
        });
    });
  });
  server.listen(port, '127.0.0.1', () => process.send?.('listening'));
  // The driver's exit ends the relay too.
  process.on('disconnect', () => process.exit(0));
}

/** Starts a relay process; resolves once it listens (10 s at most). */
function startRelay(port: number, next: string | undefined): Promise<ChildProcess> {
  const child = fork(process.argv[1]!, ['--relay', String(port), ...(next ? ['--next', next] : [])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay on port ${port} did not start within 10 s`)), 10_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve(child);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay on port ${port} exited (${code})`));
    });
  });
}

/** Times `samples` sequential requests to `url`, `gapMs` apart; p50 and p99 in ms. */
async function time(url: string, body: Buffer, samples: number, gapMs: number): Promise<{ p50: number; p99: number }> {
  const pool = new Pool(url, { connections: 1, headersTimeout: 10_000, bodyTimeout: 10_000 }); // a stuck relay fails the run, never hangs it
  try {
    const once = async (): Promise<number> => {
      const started = performance.now();
      const answer = await pool.request({ path: '/', method: 'POST', body });
      const echoed = Buffer.from(await answer.body.arrayBuffer());
      if (answer.statusCode !== 200 || echoed.length !== body.length) throw new Error(`the chain answered ${answer.statusCode} with ${echoed.length} bytes`);
      return performance.now() - started;
    };
    for (let i = 0; i < Math.min(200, samples); i++) await once(); // every process's code compiled first
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      times.push(await once());
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    times.sort((a, b) => a - b);
    return { p50: Number(percentile(times, 50).toFixed(2)), p99: Number(percentile(times, 99).toFixed(2)) };
  } finally {
    await pool.close();
  }
}

if (values.relay !== undefined) runRelay(Number(values.relay), values.next);
else {
  const processes = positive('processes');
  const samples = positive('samples');
  const size = positive('size');
  const gapMs = Number(values['gap-ms']);
  if (!Number.isFinite(gapMs) || gapMs < 0) refuse(`--gap-ms must be a number of milliseconds ≥ 0, not ${values['gap-ms']}`);
  const ports = await freePorts(processes);
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const relays: ChildProcess[] = [];
  try {
    // The last relay first, so each one's next is listening when it starts.
    for (let i = processes - 1; i >= 0; i--) relays.push(await startRelay(ports[i]!, urls[i + 1]));
    const body = Buffer.alloc(size, 0x78);
    const hops = 2 * processes;
    console.log(`bare HTTP hops between processes that do no work: ${processes} relays, ${size}-byte bodies, ${samples} requests one at a time`);
    const one = await time(urls[processes - 1]!, body, samples, gapMs);
    console.log(`one round trip (2 hops), ${gapMs} ms apart: p50 ${one.p50} ms, p99 ${one.p99} ms`);
    const chain = await time(urls[0]!, body, samples, gapMs);
    console.log(`through the chain (${hops} hops), ${gapMs} ms apart: p50 ${chain.p50} ms, p99 ${chain.p99} ms`);
    const busy = await time(urls[0]!, body, samples, 0);
    console.log(`through the chain (${hops} hops), back to back: p50 ${busy.p50} ms, p99 ${busy.p99} ms`);
    console.log(JSON.stringify({ hops, roundTripP50Ms: one.p50, roundTripP99Ms: one.p99, chainP50Ms: chain.p50, chainP99Ms: chain.p99, chainBackToBackP50Ms: busy.p50, chainBackToBackP99Ms: busy.p99 }));
  } finally {
    for (const relay of relays) relay.kill();
  }
}
