/**
 * Storage: the LevelDB adapter and its memory twin hold the same state after the same mutations
 * (one conformance suite for both), and a database that is corrupt, locked or unreadable fails
 * at start with a clear StorageError instead of a stack trace. The replicated log's storage has
 * its own files: replication-store.test.ts, segment-log.test.ts.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Level } from 'level';
import { LevelQueueStore, MemoryQueueStore, QueueEngine, StorageError, type QueueStore } from '@conveyor/backend-node';
import { FakeClock, seededRandom, sequentialIds } from '../support/index.ts';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-storage-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Drives an engine through a fixed script, then closes it (and the store). */
async function script(store: QueueStore): Promise<void> {
  const clock = new FakeClock();
  const engine = await QueueEngine.open({ store, clock: clock.now, random: seededRandom(3), newMessageId: sequentialIds(), expireIntervalMs: 0 });
  await engine.createQueue('std', { VisibilityTimeout: '10' });
  await engine.createQueue('dlq.fifo', { FifoQueue: 'true' });
  await engine.createQueue('src.fifo', {
    FifoQueue: 'true',
    ContentBasedDeduplication: 'true',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:local:000000000000:dlq.fifo', maxReceiveCount: 1 }),
  });
  await engine.sendMessageBatch('std', Array.from({ length: 6 }, (_, i) => ({ id: `m${i}`, body: `body ${i}`, attributes: { n: { DataType: 'Number', StringValue: String(i) } } })));
  await engine.sendMessageBatch('src.fifo', [{ id: 'a', body: 'one', groupId: 'g' }, { id: 'b', body: 'two', groupId: 'g' }]);
  const got = await engine.receiveMessage('std', { maxMessages: 3 });
  await engine.deleteMessage('std', got[0]!.receiptHandle);
  await engine.changeMessageVisibility('std', got[1]!.receiptHandle, 100);
  clock.advance(31_000);
  await engine.receiveMessage('src.fifo', { maxMessages: 1 });
  clock.advance(31_000);
  await engine.receiveMessage('src.fifo', { maxMessages: 1 }); // moves "one" to the DLQ
  await engine.close();
}

async function loadLevel(dir: string): Promise<unknown> {
  const store = await LevelQueueStore.open(dir);
  try {
    return await store.load();
  } finally {
    await store.close();
  }
}

t.test('LevelDB and the memory twin store the same state for the same operations', async (t) => {
  const dir = await tempDir(t);
  await script(await LevelQueueStore.open(dir));
  const fromLevel = await loadLevel(dir);
  const loadedAgain = await loadLevel(dir);
  const memory = new MemoryQueueStore();
  await script(memory);
  const fromMemory = await memory.load();
  t.same(fromLevel, fromMemory, 'both stores load the same queues, metas and dedup entries');
  t.same(loadedAgain, fromLevel, 'reopening LevelDB loads the same state again');
  const queues = fromLevel as Array<{ record: { name: string }; metas: Array<{ dlqSourceArn?: string }> }>;
  t.equal(queues.find((q) => q.record.name === 'dlq.fifo')?.metas[0]?.dlqSourceArn, 'arn:aws:sqs:local:000000000000:src.fifo', 'the redriven message is stored in the DLQ');
});

t.test('a corrupt database fails at start with a clear message', async (t) => {
  const dir = await tempDir(t);
  const store = await LevelQueueStore.open(dir);
  await store.close();
  const manifest = (await readdir(dir)).find((f) => f.startsWith('MANIFEST-'))!;
  await writeFile(join(dir, manifest), 'this is not a manifest');
  await writeFile(join(dir, 'CURRENT'), `${manifest}\n`);
  const error = await LevelQueueStore.open(dir).then(() => undefined, (e: unknown) => e);
  t.ok(error instanceof StorageError, 'a StorageError');
  t.match((error as Error).message, /corrupt|cannot be opened/, 'the message says the database cannot be used');
  t.match((error as Error).message, dir, 'and names the directory');
});

t.test('a database held by another user fails with a clear message', async (t) => {
  const dir = await tempDir(t);
  const first = await LevelQueueStore.open(dir);
  t.teardown(() => first.close());
  const error = await LevelQueueStore.open(dir).then(() => undefined, (e: unknown) => e);
  t.ok(error instanceof StorageError, 'a StorageError');
  t.match((error as Error).message, /in use by another process/);
});

t.test('an unreadable record fails the load with a clear message', async (t) => {
  const dir = await tempDir(t);
  const raw = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  await raw.put('q!00000001', Buffer.from([0xc1, 0xc1, 0xc1])); // 0xc1 is never valid msgpack
  await raw.close();
  const store = await LevelQueueStore.open(dir);
  t.teardown(() => store.close());
  const error = await store.load().then(() => undefined, (e: unknown) => e);
  t.ok(error instanceof StorageError, 'a StorageError');
  t.match((error as Error).message, /could not be read/);
});

t.test('a failed write stops the engine from acknowledging anything', async (t) => {
  const inner = new MemoryQueueStore();
  let failWrites = false;
  const store: QueueStore = {
    load: () => inner.load(),
    loadQueueIdFloor: () => inner.loadQueueIdFloor(),
    readBodies: (ids) => inner.readBodies(ids),
    close: () => inner.close(),
    write: (m) => (failWrites ? Promise.reject(new Error('EIO: disk gone')) : inner.write(m)),
  };
  const engine = await QueueEngine.open({ store, expireIntervalMs: 0 });
  await engine.createQueue('q');
  await engine.sendMessage('q', { body: 'durable' });
  failWrites = true;
  await t.rejects(engine.sendMessage('q', { body: 'lost disk' }), { code: 'ServiceUnavailable' }, 'the send whose write failed is not acknowledged');
  failWrites = false;
  await t.rejects(engine.sendMessage('q', { body: 'after' }), { code: 'ServiceUnavailable' }, 'later sends are refused too');
  await t.rejects(engine.receiveMessage('q'), { code: 'ServiceUnavailable' }, 'and so are receives');
  const stored = await inner.load();
  t.equal(stored[0]?.metas.length, 1, 'only the acknowledged message reached storage');
});
