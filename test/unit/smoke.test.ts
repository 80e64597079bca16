import t from 'tap';
import { openTestEngine } from '../support/index.ts';

t.test('a sent message can be received and deleted', async (t) => {
  const { engine } = await openTestEngine();
  await engine.createQueue('q1');
  const sent = await engine.sendMessage('q1', { body: 'hello' });
  const [msg] = await engine.receiveMessage('q1', { maxMessages: 10 });
  t.equal(msg?.messageId, sent.messageId);
  t.equal(msg?.body, 'hello');
  await engine.deleteMessage('q1', msg!.receiptHandle);
  const d = await engine.describeQueue('q1');
  t.same(d.counts, { visible: 0, inflight: 0, delayed: 0 });
  await engine.close();
});
