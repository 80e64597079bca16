/**
 * The replicated log's store (segment files for records, LevelDB for the checkpoint and state):
 * a trim cut short leaves no visible records; bodies read from records on disk come back whole;
 * the epochs' starts come from the records when a checkpoint did not reach the disk; a log kept
 * under LevelDB keys by an earlier version moves into segments; an interrupted snapshot install
 * starts the node empty; state ahead of the records is refused.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Level } from 'level';
import { LevelQueueStore, ReplicaLog, StorageError, encodeLogEntry, type LogEntry } from '@conveyor/backend-node';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-replication-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const epochStart = (offset: number, epoch: number) => {
  const entry: LogEntry = { offset, epoch, payload: { type: 'epochStart', ts: 0, epoch, leader: 'n1' } };
  return { offset, epoch, bytes: encodeLogEntry(entry) };
};

t.test('a trim that stopped between its checkpoint and its segment deletes leaves no visible records', async (t) => {
  const dir = await tempDir(t);
  let store = await LevelQueueStore.open(dir);
  let log = store.replication({ segmentBytes: 100 });
  await log.load();
  const epochs = [{ epoch: 1, startOffset: 0 }];
  // One write per record: a segment is started only between appends, at this size every other one.
  for (let offset = 0; offset < 10; offset++) await log.write({ entries: [epochStart(offset, 1)], checkpoint: { appliedEnd: offset + 1, logStart: 0, epochs } });
  // What a crash after a trim's synced checkpoint leaves: segments below the new log start.
  await log.write({ state: [], checkpoint: { appliedEnd: 10, logStart: 6, epochs } });
  await store.close();
  const segmentsBefore = (await readdir(join(dir, 'log-segments'))).length;
  store = await LevelQueueStore.open(dir);
  log = store.replication({ segmentBytes: 100 });
  const loaded = await log.load();
  t.equal(loaded.logEnd, 10, 'the log end comes from the records');
  t.same((await log.readLog(6, 1 << 20)).map((i) => [i.offset, i.epoch]), [[6, 1], [7, 1], [8, 1], [9, 1]], 'reads start at the log start');
  t.ok((await readdir(join(dir, 'log-segments'))).length < segmentsBefore, 'segments wholly below the log start are deleted at open');
  await log.trimBefore(10, { appliedEnd: 10, logStart: 10, epochs });
  await store.close();
  t.equal((await readdir(join(dir, 'log-segments'))).length, 1, 'a trim deletes every segment but the one that holds the end');
});

t.test('bodies read from log records on disk: each comes back whole, also when read again, and records keep their epochs', async (t) => {
  const dir = await tempDir(t);
  const store = await LevelQueueStore.open(dir);
  t.teardown(() => store.close());
  const log = store.replication();
  await log.load();
  const epochs = [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 2 }];
  const message = (id: string, seq: number) => ({ seq, id, body: `body of ${id}`, md5OfBody: '', delayMs: 0 });
  const records = [
    { offset: 0, epoch: 1, payload: { type: 'send' as const, ts: 1, queue: 'q', messages: [message('a', 0), message('b', 1), message('c', 2)] } },
    { offset: 1, epoch: 1, payload: { type: 'expire' as const, ts: 2 } },
    { offset: 2, epoch: 2, payload: { type: 'send' as const, ts: 3, queue: 'q', messages: [message('d', 3), message('e', 4)] } },
  ];
  await log.write({ entries: records.map((r) => ({ offset: r.offset, epoch: r.epoch, bytes: encodeLogEntry(r) })), checkpoint: { appliedEnd: 3, logStart: 0, epochs } });
  // A log loaded from disk has no records in memory: every read below goes to the segments.
  const replicaLog = new ReplicaLog(log, await log.load());
  t.same((await replicaLog.read(0, 10)).map((i) => [i.offset, i.epoch]), [[0, 1], [1, 1], [2, 2]], 'offsets and epochs of records read from disk');
  const bodiesOf = async (refs: Array<[string, number]>) => (await replicaLog.readBodies(refs.map(([id, logRef]) => ({ id, logRef })))).map((b) => b?.body);
  t.same(await bodiesOf([['a', 0], ['d', 2]]), ['body of a', 'body of d']);
  t.same(await bodiesOf([['a', 0], ['b', 0]]), ['body of a', 'body of b'], 'a body read before is read again (a redelivery)');
  t.same(await bodiesOf([['c', 0], ['e', 2], ['x', 0], ['a', 1]]), ['body of c', 'body of e', undefined, undefined], 'unknown ids and records that are not sends give nothing');
  t.same(await bodiesOf([['b', 0], ['b', 0]]), ['body of b', 'body of b'], 'one id twice in a read');
});

t.test('epochs that start in records whose checkpoint never reached the disk come from the records', async (t) => {
  const dir = await tempDir(t);
  let store = await LevelQueueStore.open(dir);
  let log = store.replication();
  await log.load();
  await log.write({ entries: [epochStart(0, 1), epochStart(1, 1)], checkpoint: { appliedEnd: 0, logStart: 0, epochs: [{ epoch: 1, startOffset: 0 }] } });
  // A new epoch's first records, with a checkpoint that does not list it yet.
  await log.write({ entries: [epochStart(2, 3), epochStart(3, 3)] });
  await store.close();
  store = await LevelQueueStore.open(dir);
  t.teardown(() => store.close());
  log = store.replication();
  const loaded = await log.load();
  t.same(loaded.checkpoint.epochs, [{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 2 }]);
  t.equal(loaded.lastEpoch, 3);
  t.equal(loaded.logEnd, 4);
});

t.test('a log that an earlier version kept under LevelDB keys moves into segments', async (t) => {
  const dir = await tempDir(t);
  const db = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  const checkpoint = { appliedEnd: 2, logStart: 1, epochs: [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 2 }] };
  const { pack } = await import('msgpackr');
  await db.batch([
    ...[epochStart(0, 1), epochStart(1, 1), epochStart(2, 2), epochStart(3, 2)].map((r) => ({ type: 'put' as const, key: `l!${r.offset.toString(16).padStart(12, '0')}`, value: r.bytes })),
    { type: 'put', key: 's!replication', value: pack(checkpoint) },
  ]);
  await db.close();
  const store = await LevelQueueStore.open(dir);
  const log = store.replication();
  const loaded = await log.load();
  t.equal(loaded.logEnd, 4);
  t.same((await log.readLog(1, 1 << 20)).map((r) => [r.offset, r.epoch]), [[1, 1], [2, 2], [3, 2]], 'the records from the log start on');
  await store.close();
  const after = new Level<string, Buffer>(dir, { valueEncoding: 'buffer' });
  t.teardown(() => after.close());
  t.same(await after.keys({ gte: 'l!', lt: 'l"' }).all(), [], 'the old keys are gone');
});

t.test('a snapshot install cut short leaves an empty node, and state ahead of its records is refused', async (t) => {
  const dir = await tempDir(t);
  let store = await LevelQueueStore.open(dir);
  let log = store.replication();
  await log.load();
  await log.write({ entries: [epochStart(0, 1), epochStart(1, 1)], checkpoint: { appliedEnd: 2, logStart: 0, epochs: [{ epoch: 1, startOffset: 0 }] } });
  await store.close();
  await writeFile(join(dir, 'log-segments', 'importing-snapshot'), '7');
  store = await LevelQueueStore.open(dir);
  log = store.replication();
  const loaded = await log.load();
  t.same([loaded.logEnd, loaded.checkpoint.appliedEnd, loaded.checkpoint.logStart], [0, 0, 0], 'nothing of the old log or state is left');
  t.same(await readdir(join(dir, 'log-segments')), [], 'no segment and no marker');
  await log.write({ state: [], checkpoint: { appliedEnd: 5, logStart: 0, epochs: [] } });
  await store.close();
  store = await LevelQueueStore.open(dir);
  t.teardown(() => store.close());
  await t.rejects(store.replication().load(), StorageError, 'a state that applied records the log does not have');
});
