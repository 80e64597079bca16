/**
 * Drives a real Queue's consumer (prefetch, handlers, batched deletes) over a transport in memory
 * that answers receives with freshly decoded 1 KiB messages, as fast as the consumer takes them.
 * Run it under `--trace-gc-nvp` to see how much of what the consumer handles survives young
 * collections. Usage: consumer-gc-probe.ts <messages> <pollers>; prints "handled N" on stderr.
 */
import { Queue, decodeNative, encodeReceiveAnswer, resolveClientOptions } from '@conveyor/client-sdk';

type QueueContext = ConstructorParameters<typeof Queue>[1];

const total = Number(process.argv[2] ?? 50_000);
const pollers = Number(process.argv[3] ?? 1);
const BATCH = 250;
const answer = encodeReceiveAnswer(
  Array.from({ length: BATCH }, (_, i) => ({
    messageId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    receiptHandle: `handle-${i}-${'h'.repeat(60)}`,
    body: `${i}:${'x'.repeat(1020)}`,
    md5OfBody: 'd41d8cd98f00b204e9800998ecf8427e',
    systemAttributes: { SentTimestamp: '1764268000000', ApproximateReceiveCount: '1', ApproximateFirstReceiveTimestamp: '1764268000123' },
  })),
  true,
);

let served = 0;
const transport = {
  async call(action: string, request: { maxMessages?: number; entries?: Array<{ id: string }> }): Promise<unknown> {
    await new Promise((resolve) => setTimeout(resolve, action === 'ReceiveMessage' ? 5 : 20));
    if (action !== 'ReceiveMessage') return { successful: request.entries!.map((e) => ({ id: e.id })), failed: [] };
    const max = Math.min(request.maxMessages ?? BATCH, BATCH, total - served);
    served += max;
    // A fresh decode per answer, as off the network.
    const { messages } = decodeNative<{ messages: unknown[] }>(Buffer.from(answer));
    return { messages: messages.slice(0, max) };
  },
};
const context = { transport, options: resolveClientOptions({ endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } }) } as unknown as QueueContext;

let handled = 0;
const consumers = Array.from({ length: 4 }, () =>
  new Queue('probe', context).consume(() => {
    handled += 1;
  }, { concurrency: 400, batchSize: BATCH, waitSeconds: 1, pollers }),
);
const deadline = Date.now() + 60_000;
while (handled < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
await Promise.all(consumers.map((c) => c.stop()));
process.stderr.write(`handled ${handled}\n`);
