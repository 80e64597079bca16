// Sends 100 orders to the queue "orders" (creating it if needed). Run: node --import tsx examples/producer.ts
import { Conveyor } from '@conveyor/client-sdk';

const conveyor = new Conveyor({
  endpoint: process.env.CONVEYOR_ENDPOINT ?? 'http://127.0.0.1:9324',
  credentials: {
    accessKeyId: process.env.CONVEYOR_ACCESS_KEY ?? 'local',
    secretAccessKey: process.env.CONVEYOR_SECRET_KEY ?? 'local',
  },
});

const orders = await conveyor.createQueue('orders', { visibilityTimeoutSeconds: 30 });

// Sends made together travel together: these 100 go out in one or a few batched requests,
// and each promise still resolves with its own message id (or rejects with its own error).
const sent = await Promise.all(
  Array.from({ length: 100 }, (_, i) =>
    orders.send({
      body: JSON.stringify({ order: i, item: 'book' }),
      attributes: { kind: { DataType: 'String', StringValue: 'order' } },
    }),
  ),
);
console.log(`sent ${sent.length} orders; the first is message ${sent[0]!.messageId}`);

await conveyor.close(); // waits for anything still in flight
