// Handles orders from the queue "orders" until Ctrl-C. Run: node --import tsx examples/consumer.ts
import { Conveyor } from '@conveyor/client-sdk';

const conveyor = new Conveyor({
  endpoint: process.env.CONVEYOR_ENDPOINT ?? 'http://127.0.0.1:9324',
  credentials: {
    accessKeyId: process.env.CONVEYOR_ACCESS_KEY ?? 'local',
    secretAccessKey: process.env.CONVEYOR_SECRET_KEY ?? 'local',
  },
});

let handled = 0;
const consumer = conveyor.queue('orders').consume(
  async (message) => {
    // Resolving deletes the message; throwing leaves it for another delivery.
    const order = JSON.parse(message.body) as { order: number; item: string };
    handled += 1;
    if (handled % 25 === 0) console.log(`handled ${handled} orders (latest: #${order.order}, ${order.item})`);
  },
  {
    concurrency: 20, // handlers at once (and messages buffered ahead)
    batchSize: 10, // messages per receive
    visibilityTimeout: 30, // extended while a handler runs
    onError: (error, stage) => console.error(`${stage} failed: ${String(error)}`),
  },
);

// Ctrl-C: stop receiving, let running handlers finish, send their deletes, then exit.
process.once('SIGINT', () => void consumer.stop());
await consumer.done;
console.log(`stopped after ${consumer.stats.processed} orders`);
await conveyor.close();
