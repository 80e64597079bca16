// @aws-sdk/client-sqs against Conveyor: only the endpoint changes. Run: node --import tsx examples/sqs-client.ts
// (after `eval "$(npx conveyor env)"`, which exports the endpoint and the key npm start made).
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

const sqs = new SQSClient({
  endpoint: process.env.CONVEYOR_ENDPOINT ?? 'http://127.0.0.1:9324',
  region: process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
  // Read from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, as for SQS itself.
});

const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'aws-sdk-example' }));
await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello from @aws-sdk/client-sqs' }));
const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
for (const message of Messages) {
  console.log(`received: ${message.Body}`);
  await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
}
if (Messages.length === 0) throw new Error('nothing received');
sqs.destroy();
