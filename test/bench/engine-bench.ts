/**
 * Engine benchmark: one process, one node, LevelDB with durable group commit. 1 KiB messages in
 * batches of 10, many batches in flight. Prints the figures; the last line is JSON.
 *   npm run bench:engine -- [--messages N] [--concurrency C] [--dir PATH]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { timed } from './timed.ts';
import { LevelQueueStore, QueueEngine } from '@conveyor/backend-node';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '64' },
    size: { type: 'string', default: '1024' },
    dir: { type: 'string' },
  },
});
const total = Number(values.messages);
const concurrency = Number(values.concurrency);
const body = 'x'.repeat(Number(values.size));

const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'conveyor-bench-')));
const engine = await QueueEngine.open({ store: await LevelQueueStore.open(dir), expireIntervalMs: 0 });
await engine.createQueue('bench');


let toSend = total;
const sendPerSec = await timed('send', concurrency, async () => {
  let sent = 0;
  while (toSend > 0) {
    const n = Math.min(10, toSend);
    toSend -= n;
    const entries = Array.from({ length: n }, (_, i) => ({ id: String(i), body }));
    const result = await engine.sendMessageBatch('bench', entries);
    if (result.failed.length > 0) throw new Error(`send failed: ${JSON.stringify(result.failed[0])}`);
    sent += n;
  }
  return sent;
});
const afterSend = { ...engine.commitStats };

let remaining = total;
const receiveDeletePerSec = await timed('receive+delete', concurrency, async () => {
  let done = 0;
  while (remaining > 0) {
    const messages = await engine.receiveMessage('bench', { maxMessages: 10 });
    if (messages.length === 0) break;
    remaining -= messages.length;
    const result = await engine.deleteMessageBatch('bench', messages.map((m, i) => ({ id: String(i), receiptHandle: m.receiptHandle })));
    if (result.failed.length > 0) throw new Error(`delete failed: ${JSON.stringify(result.failed[0])}`);
    done += messages.length;
  }
  return done;
});
const stats = engine.commitStats;
console.log(`group commits: ${afterSend.writes} writes for sends (${(total / 10 / afterSend.writes).toFixed(1)} batches each), ${stats.writes - afterSend.writes} for receive+delete`);
const left = await engine.describeQueue('bench');
if (left.counts.visible + left.counts.inflight !== 0) throw new Error(`queue not drained: ${JSON.stringify(left.counts)}`);
await engine.close();
if (!values.dir) await rm(dir, { recursive: true, force: true });
console.log(JSON.stringify({ sendPerSec, receiveDeletePerSec }));
