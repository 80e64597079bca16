// The leader's commit pipeline over a fake log store: commits wait for the high watermark, ISR
// changes go through updateIsr first, fetches are checked, and a failed disk write stops the
// node from acknowledging anything.
import t, { type Test } from 'tap';
import { ConveyorError } from '@conveyor/client-sdk/wire';
import { unpack } from 'msgpackr';
import { LeaderPipeline, ReplicaLog, WriteSet, decodeLogEntry, decodeMeta, type FetchResponse, type MessageMeta, type NodeBatch, type QueueLogRecord, type QueueRecord, type ReplicationCheckpoint, type StoreMutation } from '@conveyor/backend-node';
import { metaKey, queueKey } from '../../backend-node/src/storage/keys.ts';
import { STATE_DELAY, stateWriteDueAt } from '../../backend-node/src/replication/types.ts';
import { FakeClock } from '../support/fake-clock.ts';

const EPOCH = 3;
const LAG_MS = 10_000;
const RECORD: QueueLogRecord = { type: 'expire', ts: 1 };

/** A log store whose writes succeed, fail or wait for the test, one call at a time. */
class FakeStore {
  writes: NodeBatch[] = [];
  mode: 'ok' | 'fail' | 'hold' = 'ok';
  failure = new Error('disk full');
  private held: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  write(batch: NodeBatch): Promise<void> {
    this.writes.push(batch);
    if (this.mode === 'fail') return Promise.reject(this.failure);
    if (this.mode === 'hold') return new Promise((resolve, reject) => this.held.push({ resolve, reject }));
    return Promise.resolve();
  }

  get pending(): number {
    return this.held.length;
  }

  release(): void {
    for (const h of this.held.splice(0)) h.resolve();
  }

  rejectHeld(): void {
    for (const h of this.held.splice(0)) h.reject(this.failure);
  }

  readLog = async (): Promise<never[]> => [];
  truncateFrom = async (): Promise<void> => {};
  trimBefore = async (): Promise<void> => {};
}

/** Yields to the event loop until `cond` holds; fails after a bounded number of turns. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (cond()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Lets pending immediates and microtasks run (the persist loop), a fixed number of turns. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

type State = 'pending' | 'resolved' | 'rejected';
/** Watches a promise without leaving a rejection unhandled. */
function track(p: Promise<void>): { state: () => State; error: () => unknown; done: Promise<void> } {
  let state: State = 'pending';
  let error: unknown;
  const done = p.then(
    () => void (state = 'resolved'),
    (e: unknown) => {
      state = 'rejected';
      error = e;
    },
  );
  return { state: () => state, error: () => error, done };
}

interface SetupOptions {
  isr?: string[];
  minInSync?: number;
  checkpoint?: ReplicationCheckpoint;
  logEnd?: number;
  lastEpoch?: number;
  updateIsr?: (isr: string[]) => Promise<boolean>;
  stateWriteDueAt?: (since: number, keys: number) => number;
}

function setup(t: Test, options: SetupOptions = {}) {
  const clock = new FakeClock();
  const store = new FakeStore();
  const log = new ReplicaLog(store as never, {
    checkpoint: options.checkpoint ?? { appliedEnd: 0, logStart: 0, epochs: [] },
    logEnd: options.logEnd ?? 0,
    lastEpoch: options.lastEpoch ?? -1,
  });
  const deposed: string[] = [];
  const events: string[] = [];
  let lease = true;
  const pipeline = new LeaderPipeline(log, {
    nodeId: 'n1',
    epoch: EPOCH,
    isr: options.isr ?? ['n1', 'f1'],
    minInSync: options.minInSync ?? 2,
    replicaLagMs: LAG_MS,
    clock: clock.now,
    updateIsr:
      options.updateIsr ??
      (async (isr) => {
        events.push(`updateIsr ${isr.join(',')}`);
        return true;
      }),
    leaseValid: () => lease,
    onDeposed: (reason) => void deposed.push(reason),
    materializeBodies: async () => new WriteSet(),
    stateWriteDueAt: options.stateWriteDueAt,
  });
  // Stops its intervals; a no-op if the test already failed it.
  t.teardown(() => pipeline.fail(new ConveyorError('NotLeader', 'test over')));
  const fetch = (followerId: string, fetchOffset: number, lastFetchedEpoch: number, extra: { epoch?: number; maxWaitMs?: number } = {}): Promise<FetchResponse> =>
    pipeline.handleFetch({ clusterId: 'c', followerId, epoch: extra.epoch ?? EPOCH, fetchOffset, lastFetchedEpoch, appliedEnd: 0, maxWaitMs: extra.maxWaitMs ?? 0 });
  const commit = (mutations: readonly StoreMutation[] = []) => track(pipeline.commit(RECORD, mutations));
  return { clock, store, log, pipeline, deposed, events, fetch, commit, setLease: (v: boolean) => void (lease = v) };
}

/** The offsets and epochs of the records in a `records` response. */
function recordsOf(t: Test, response: FetchResponse): Array<[number, number]> {
  if (response.kind !== 'records') {
    t.fail(`expected records, got ${JSON.stringify(response)}`);
    return [];
  }
  return response.entries.map((bytes) => {
    const e = decodeLogEntry(bytes);
    return [e.offset, e.epoch];
  });
}

const codeOf = (error: unknown): string | undefined => (error instanceof ConveyorError ? error.code : undefined);

t.test('a commit resolves only once the high watermark passes it', async (t) => {
  const { store, log, pipeline, fetch, commit } = setup(t);
  const a = commit([{ op: 'delQueue', queueId: 7 }]);
  const b = commit();
  await until(() => log.persistedEnd === 2, 'the leader has persisted both records');
  await settle();
  t.equal(a.state(), 'pending', 'persisted by the leader only');
  t.same(store.writes.map((w) => [w.entries?.length, w.state?.length, w.checkpoint?.appliedEnd]), [[2, 0, 0]], 'records reach the disk, their state does not');

  const first = await fetch('f1', 0, -1);
  t.same(recordsOf(t, first), [[0, EPOCH], [1, EPOCH]], 'f1 gets both records');
  await settle();
  t.equal(a.state(), 'pending', 'f1 has fetched but not yet acknowledged');

  const second = await fetch('f1', 1, EPOCH);
  t.same(recordsOf(t, second), [[1, EPOCH]]);
  t.equal(second.kind === 'records' && second.highWatermark, 1, 'the response carries the new HW');
  await a.done;
  t.equal(a.state(), 'resolved', 'record 0 is below the HW');
  await settle();
  t.equal(b.state(), 'pending', 'record 1 is not');

  await fetch('f1', 2, EPOCH);
  await b.done;
  t.equal(b.state(), 'resolved');
  t.equal(pipeline.bookkeeping.highWatermark, 2);
  // Committed state waits up to the state-write delay (200 ms, on a timer) when nothing else is written.
  for (let i = 0; i < 300 && log.appliedEnd !== 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.equal(log.appliedEnd, 2, 'the committed state is written');
  const last = store.writes.at(-1)!;
  t.equal(last.checkpoint?.appliedEnd, 2);
  t.ok(store.writes.slice(1).some((w) => w.state?.some((s) => s.size === 1)), 'the state of record 0 went to disk once it committed');
  t.resolves(pipeline.barrier(), 'nothing is left above the HW');
});

t.test("a record's state is written as it was when the record was appended, not as later records left it", async (t) => {
  const { store, log, fetch, commit } = setup(t);
  const queue = { queueId: 7, name: 'q', nextSeq: 5 } as unknown as QueueRecord;
  const meta = { seq: 4, id: 'm-4', sentAt: 1, enqueuedAt: 1, visibleAt: 5, receiveCount: 1, firstReceiveAt: 2, receivedAt: 2, nonce: 77, md5OfBody: 'x', logRef: 0 } as MessageMeta;
  const a = commit([{ op: 'putQueue', queue }, { op: 'putMeta', queueId: 7, meta }]);
  // A later record (not committed yet) changes the live objects.
  queue.nextSeq = 99;
  meta.receiveCount = 2;
  commit();
  await until(() => log.persistedEnd === 2, 'the leader has persisted both records');
  await fetch('f1', 0, -1);
  await fetch('f1', 1, EPOCH);
  await a.done;
  for (let i = 0; i < 300 && log.appliedEnd < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.ok(log.appliedEnd >= 1, "record 0's state is written");
  const written = new Map<string, Buffer>();
  for (const w of store.writes) for (const set of w.state ?? []) set.forEach(undefined, (key, bytes) => void written.set(key, bytes), () => undefined);
  t.equal((unpack(written.get(queueKey(7))!) as QueueRecord).nextSeq, 5, 'the queue record as of record 0');
  t.equal(decodeMeta(written.get(metaKey(7, 4))!).receiveCount, 1, 'the meta as of record 0');
});

t.test('stateWriteDueAt: small sets soon, larger ones later, the largest at once', async (t) => {
  t.equal(stateWriteDueAt(1_000, 1), 1_000 + STATE_DELAY.smallMs, 'a set of one key: after the short delay');
  t.equal(stateWriteDueAt(1_000, STATE_DELAY.smallKeys - 1), 1_000 + STATE_DELAY.smallMs);
  t.equal(stateWriteDueAt(1_000, STATE_DELAY.smallKeys), 1_000 + STATE_DELAY.ms, 'a larger set waits longer, for its puts to meet their deletes');
  t.equal(stateWriteDueAt(1_000, STATE_DELAY.keys - 1), 1_000 + STATE_DELAY.ms);
  t.equal(stateWriteDueAt(1_000, STATE_DELAY.keys), 1_000, 'the largest is due at once');
  t.ok(STATE_DELAY.smallMs < STATE_DELAY.ms && STATE_DELAY.smallKeys < STATE_DELAY.keys);
});

/** Committed state waits a minute (on the timer: the fake clock stands still) unless STATE_DELAY.keys keys wait. */
const aMinuteUnlessMany = (since: number, keys: number): number => (keys >= STATE_DELAY.keys ? since : since + 60_000);

t.test('state of records committed in different rounds folds into one write: a message sent and deleted leaves nothing', async (t) => {
  const { store, log, fetch, commit, pipeline } = setup(t, { stateWriteDueAt: aMinuteUnlessMany });
  const meta = { seq: 1, id: 'm-1', sentAt: 1, enqueuedAt: 1, visibleAt: 1, receiveCount: 0, firstReceiveAt: 0, receivedAt: 0, nonce: 0, md5OfBody: 'x', logRef: 0 } as MessageMeta;
  const kept = { ...meta, seq: 2, id: 'm-2' };
  const sent = commit([{ op: 'putMeta', queueId: 7, meta, created: true }, { op: 'putMeta', queueId: 7, meta: kept, created: true }]);
  await until(() => log.persistedEnd === 1, 'the send record is persisted');
  await fetch('f1', 0, -1);
  await fetch('f1', 1, EPOCH);
  await sent.done;
  const deleted = commit([{ op: 'delMeta', queueId: 7, seq: 1 }]);
  await until(() => log.persistedEnd === 2, 'the delete record is persisted');
  await fetch('f1', 2, EPOCH);
  await deleted.done;
  await settle();
  t.ok(store.writes.every((w) => (w.state ?? []).length === 0), 'both committed, and their state waits (the delay is a minute)');
  t.equal(log.appliedEnd, 0, "the checkpoint's applied end stays behind the state that waits");
  // A handoff writes what waits at once.
  t.ok(await pipeline.drainForHandoff(5_000), 'the handoff drains');
  const written = new Map<string, Buffer | null>();
  for (const w of store.writes) for (const set of w.state ?? []) set.forEach(undefined, (key, bytes) => void written.set(key, bytes), (key) => void written.set(key, null));
  t.same([...written.keys()], [metaKey(7, 2)], 'one write: the message still there; the one sent and deleted costs nothing, not even a delete');
  t.equal(log.appliedEnd, 2, 'the checkpoint covers both records');
});

t.test('committed state is written before its delay once STATE_DELAY.keys keys wait', async (t) => {
  const { store, log, fetch, commit } = setup(t, { stateWriteDueAt: aMinuteUnlessMany });
  const metas: StoreMutation[] = [];
  for (let seq = 0; seq < STATE_DELAY.keys; seq++) metas.push({ op: 'putMeta', queueId: 7, meta: { seq, id: `m-${seq}`, sentAt: 1, enqueuedAt: 1, visibleAt: 1, receiveCount: 0, firstReceiveAt: 0, receivedAt: 0, nonce: 0, md5OfBody: 'x', logRef: 0 } as MessageMeta, created: true });
  const few = commit(metas.slice(0, 10));
  await until(() => log.persistedEnd === 1, 'the first record is persisted');
  await fetch('f1', 0, -1);
  await fetch('f1', 1, EPOCH);
  await few.done;
  await settle();
  t.equal(log.appliedEnd, 0, 'ten keys wait for the delay');
  const many = commit(metas.slice(10));
  await until(() => log.persistedEnd === 2, 'the second record is persisted');
  await fetch('f1', 2, EPOCH);
  await many.done;
  await until(() => log.appliedEnd === 2, 'the state is written');
  const sizes = store.writes.flatMap((w) => (w.state ?? []).map((set) => set.size));
  t.same(sizes, [STATE_DELAY.keys], 'in one write, well before the minute is up');
});

t.test("the leader's own copy counts: followers alone do not commit", async (t) => {
  const { store, fetch, commit } = setup(t);
  store.mode = 'hold';
  const c = commit();
  await until(() => store.pending === 1, 'the write has started');
  await fetch('f1', 0, -1);
  await fetch('f1', 1, EPOCH);
  await settle();
  t.equal(c.state(), 'pending', 'f1 has record 0, the leader has not persisted it yet');
  store.release();
  await c.done;
  t.equal(c.state(), 'resolved');
});

t.test('a follower outside the ISR neither holds commits back nor counts until it joins', async (t) => {
  const { pipeline, fetch, commit, events } = setup(t, { isr: ['n1'], minInSync: 1 });
  const first = commit();
  await first.done;
  t.equal(first.state(), 'resolved', 'the lone leader committed on its own write');
  await fetch('f2', 0, -1); // f2 has nothing yet: below the HW
  const second = commit();
  await second.done;
  t.equal(second.state(), 'resolved', 'f2 does not hold it back');
  t.same(events, [], 'f2 below the HW is not proposed');
  t.same(pipeline.bookkeeping.isr, ['n1']);

  await fetch('f2', 2, EPOCH);
  await until(() => pipeline.bookkeeping.isr.includes('f2'), 'f2 joins the ISR');
  t.same(events, ['updateIsr f2,n1'], 'the ISR change went through updateIsr');
  const third = commit();
  await until(() => pipeline.bookkeeping.persistedEnd === 3, 'the leader persisted record 2');
  await settle();
  t.equal(third.state(), 'pending', 'now f2 counts');
  await fetch('f2', 3, EPOCH);
  await third.done;
  t.equal(third.state(), 'resolved');
});

t.test('a silent ISR member is dropped through updateIsr before a write is acknowledged without it', async (t) => {
  const { clock, pipeline, fetch, commit, events } = setup(t, { isr: ['n1', 'f1', 'f2'] });
  const c = commit();
  void c.done.then(() => events.push('committed'));
  await fetch('f2', 0, -1);
  await fetch('f2', 1, EPOCH);
  await settle();
  t.equal(c.state(), 'pending', 'f1 has not acknowledged');
  clock.advance(LAG_MS + 1);
  await fetch('f2', 1, EPOCH); // serving a fetch looks at the ISR
  await c.done;
  t.same(events, ['updateIsr f2,n1', 'committed'], 'f1 left the ISR first');
  t.same(pipeline.bookkeeping.isr, ['f2', 'n1']);
});

t.test('a leader whose ISR change is refused steps down and acknowledges nothing', async (t) => {
  const { clock, deposed, fetch, commit } = setup(t, { isr: ['n1', 'f1', 'f2'], updateIsr: async () => false });
  const c = commit();
  await fetch('f2', 0, -1);
  await fetch('f2', 1, EPOCH);
  clock.advance(LAG_MS + 1);
  await fetch('f2', 1, EPOCH);
  await until(() => deposed.length > 0, 'onDeposed is called');
  t.match(deposed, [/ISR could not be updated/]);
  await settle();
  t.equal(c.state(), 'pending', 'f1 still counts: the commit waits');
});

t.test('assertWritable', async (t) => {
  t.test('throws ServiceUnavailable while the ISR is smaller than minInSync', async (t) => {
    const { pipeline } = setup(t, { isr: ['n1'], minInSync: 2 });
    t.throws(() => pipeline.assertWritable(), { code: 'ServiceUnavailable', message: /Not enough in-sync replicas: 1 of the 2 required/ });
  });

  t.test('passes with enough in-sync replicas', async (t) => {
    const { pipeline } = setup(t, { isr: ['n1', 'f1'], minInSync: 2 });
    t.doesNotThrow(() => pipeline.assertWritable());
  });

  t.test('throws NotLeader once the lease is gone', async (t) => {
    const { pipeline, setLease } = setup(t, { isr: ['n1', 'f1'], minInSync: 2 });
    setLease(false);
    t.throws(() => pipeline.assertWritable(), { code: 'NotLeader' });
    await t.rejects(pipeline.barrier(), { code: 'NotLeader' });
  });
});

t.test('handleFetch', async (t) => {
  t.test('a fetch claiming a newer epoch is refused with NotLeader, without deposing on its word', async (t) => {
    const { deposed, fetch } = setup(t);
    await t.rejects(fetch('f1', 0, -1, { epoch: EPOCH + 1 }), { code: 'NotLeader' });
    t.same(deposed, [], 'only ZooKeeper deposes a leader');
    const ok = await fetch('f1', 0, -1, { epoch: EPOCH });
    t.equal(ok.kind, 'records', 'the same epoch is served');
    const older = await fetch('f1', 0, -1, { epoch: EPOCH - 1 });
    t.equal(older.kind, 'records', 'so is an older one');
  });

  t.test('a fetch from below the log start answers snapshotRequired', async (t) => {
    const { fetch } = setup(t, { checkpoint: { appliedEnd: 5, logStart: 5, epochs: [{ epoch: 1, startOffset: 0 }] }, logEnd: 5, lastEpoch: 1 });
    t.same(await fetch('f1', 2, 1), { kind: 'snapshotRequired', epoch: EPOCH, logStart: 5 });
    t.same(await fetch('f1', 0, -1), { kind: 'snapshotRequired', epoch: EPOCH, logStart: 5 }, 'an empty follower too');
    const at = await fetch('f1', 5, 1);
    t.equal(at.kind, 'records', 'from the log start it is served');
  });

  t.test('a fetch past the log end in the current epoch is rejected with InvalidParameterValue', async (t) => {
    const { pipeline, fetch, commit } = setup(t);
    const c = commit();
    await until(() => pipeline.bookkeeping.persistedEnd === 1, 'record 0 is persisted');
    await t.rejects(fetch('f1', 3, EPOCH), { code: 'InvalidParameterValue', message: /Fetch offset 3 is past the log end 1/ });
    t.equal(pipeline.bookkeeping.progress().f1?.ackedEnd ?? 0, 0, 'and acknowledges nothing');
    t.equal(c.state(), 'pending');
  });

  t.test('a longer log from an older epoch diverges instead', async (t) => {
    // The log holds epoch 1 [0, 4); this leader (epoch 3) appends from 4.
    const { fetch, commit } = setup(t, { checkpoint: { appliedEnd: 4, logStart: 0, epochs: [{ epoch: 1, startOffset: 0 }] }, logEnd: 4, lastEpoch: 1 });
    commit();
    t.same(await fetch('f1', 7, 1), { kind: 'diverging', epoch: EPOCH, divergingEpoch: 1, endOffset: 4 });
    t.same(await fetch('f1', 6, 2), { kind: 'diverging', epoch: EPOCH, divergingEpoch: 1, endOffset: 4 }, 'an epoch this leader never had');
    const ok = await fetch('f1', 4, 1);
    t.same(recordsOf(t, ok), [[4, EPOCH]], 'from the end of epoch 1 it gets the new records');
  });

  t.test('a diverging fetch does not acknowledge anything', async (t) => {
    const { pipeline, fetch, commit } = setup(t, { checkpoint: { appliedEnd: 4, logStart: 0, epochs: [{ epoch: 1, startOffset: 0 }] }, logEnd: 4, lastEpoch: 1 });
    const c = commit();
    await until(() => pipeline.bookkeeping.persistedEnd === 5, 'record 4 is persisted');
    const r = await fetch('f1', 5, 2); // five records, but the last of epoch 2
    t.equal(r.kind, 'diverging');
    await settle();
    t.equal(pipeline.bookkeeping.highWatermark, 4);
    t.equal(c.state(), 'pending');
  });
});

t.test('a failed disk write', async (t) => {
  t.test('rejects waiting commits with ServiceUnavailable, deposes the leader, and fails what comes later', async (t) => {
    const { store, pipeline, deposed, fetch, commit } = setup(t);
    store.mode = 'fail';
    const c = commit();
    await c.done;
    t.equal(c.state(), 'rejected');
    t.equal(codeOf(c.error()), 'ServiceUnavailable');
    t.equal((c.error() as Error).cause, store.failure, 'the disk error is the cause');
    t.same(deposed, ['storage failure']);

    store.mode = 'ok';
    const later = commit();
    await later.done;
    t.equal(codeOf(later.error()), 'ServiceUnavailable', 'a later commit fails too');
    t.throws(() => pipeline.assertWritable(), { code: 'ServiceUnavailable' });
    await t.rejects(pipeline.barrier(), { code: 'ServiceUnavailable' });
    await t.rejects(fetch('f1', 0, -1), { code: 'ServiceUnavailable' }, 'followers are not served either');
    await settle();
    t.equal(store.writes.length, 1, 'nothing more is written');
    t.equal(pipeline.bookkeeping.highWatermark, 0, 'nothing was acknowledged');
  });

  t.test('acknowledges nothing even when the followers already have the records', async (t) => {
    const { store, pipeline, deposed, fetch, commit } = setup(t);
    store.mode = 'hold';
    const c = commit();
    await until(() => store.pending === 1, 'the write has started');
    t.same(recordsOf(t, await fetch('f1', 0, -1)), [[0, EPOCH]], 'f1 gets the record from memory');
    await fetch('f1', 1, EPOCH);
    await settle();
    t.equal(c.state(), 'pending');
    store.rejectHeld();
    await c.done;
    t.equal(c.state(), 'rejected');
    t.equal(codeOf(c.error()), 'ServiceUnavailable');
    t.same(deposed, ['storage failure']);
    t.equal(pipeline.bookkeeping.highWatermark, 0);
    t.equal(pipeline.bookkeeping.persistedEnd, 0);
  });
});

t.test('fail() rejects every waiter with the given error and wakes parked fetches', async (t) => {
  const { pipeline, log, fetch, commit } = setup(t);
  const a = commit();
  const b = commit();
  const barrier = track(pipeline.barrier());
  await until(() => log.persistedEnd === 2, 'both records are persisted');
  const parked = fetch('f2', 2, EPOCH, { maxWaitMs: 60_000 });
  let fetched = false;
  void parked.then(() => (fetched = true));
  await settle();
  t.equal(fetched, false, 'the fetch waits for new records');

  const error = new ConveyorError('NotLeader', 'stepping down');
  pipeline.fail(error);
  await Promise.all([a.done, b.done, barrier.done]);
  t.equal(a.error(), error);
  t.equal(b.error(), error);
  t.equal(barrier.error(), error);
  await until(() => fetched, 'the parked fetch returns at once');
  t.equal((await parked).kind, 'records');
  const c = commit();
  await c.done;
  t.equal(c.error(), error, 'a later commit gets the same error');
  t.throws(() => pipeline.assertWritable(), error);
});
