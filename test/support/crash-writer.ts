/**
 * A child process for crash tests: writes through the engine until killed, printing a line per
 * acknowledged send ("SENT <queue> <id> <md5>"), per delete begun ("DELETING <queue> <id>") and per
 * acknowledged delete ("DELETED <queue> <id>"). Usage: crash-writer.ts <data-dir>
 */
import { LevelQueueStore, QueueEngine } from '@conveyor/backend-node';

const dir = process.argv[2];
if (!dir) throw new Error('usage: crash-writer.ts <data-dir>');
const engine = await QueueEngine.open({ store: await LevelQueueStore.open(dir), expireIntervalMs: 0 });
await engine.createQueue('crash', { VisibilityTimeout: '3600' });
await engine.createQueue('crash.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true', VisibilityTimeout: '3600' });
process.stdout.write('READY\n');

let counter = 0;
// Writes to a pipe are synchronous on Linux, so a line is out before the next step begins.
const say = (lines: string[]): void => {
  if (lines.length > 0) process.stdout.write(lines.join(''));
};

async function producer(queue: string): Promise<never> {
  for (;;) {
    const entries = Array.from({ length: 10 }, (_, i) => {
      const n = counter++;
      return { id: `e${i}`, body: `message ${n} ${'x'.repeat(n % 700)}`, groupId: `g${n % 4}` };
    });
    const result = await engine.sendMessageBatch(queue, entries);
    say(result.successful.map((s) => `SENT ${queue} ${s.messageId} ${s.md5OfBody}\n`));
  }
}

async function consumer(queue: string): Promise<never> {
  for (;;) {
    const messages = await engine.receiveMessage(queue, { maxMessages: 10 });
    if (messages.length === 0) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    say(messages.map((m) => `DELETING ${queue} ${m.messageId}\n`));
    const result = await engine.deleteMessageBatch(queue, messages.map((m, i) => ({ id: `d${i}`, receiptHandle: m.receiptHandle })));
    say(result.successful.map((s) => `DELETED ${queue} ${messages[Number(s.id.slice(1))]!.messageId}\n`));
  }
}

await Promise.all([producer('crash'), producer('crash'), producer('crash'), producer('crash.fifo'), consumer('crash'), consumer('crash.fifo')]);
