// The follower's fetch loop over a fake log store and a scripted leader: a fetch's records start
// their synced write before the committed records are applied (the two overlap), the next fetch
// acknowledges them only once they are on disk, and a failed state write puts the state back so
// a later write carries it.
import t, { type Test } from 'tap';
import { defaultQueueConfig } from '@conveyor/client-sdk/wire';
import { QueueStateMachine, ReplicaLog, WriteSet, encodeLogEntry, type FetchRequest, type FetchResponse, type NodeBatch, type QueueLogRecord } from '@conveyor/backend-node';
import { Follower } from '../../backend-node/src/replication/follower.ts';
import { queueKey } from '../../backend-node/src/storage/keys.ts';

const EPOCH = 2;

/** A log store whose writes succeed, fail or wait for the test; it notes what the machine had applied when each write began. */
class FakeStore {
  writes: Array<{ batch: NodeBatch; queuesAtStart: number }> = [];
  mode: 'ok' | 'fail' | 'hold' = 'ok';
  private held: Array<() => void> = [];
  machine: () => QueueStateMachine = () => new QueueStateMachine();

  write(batch: NodeBatch): Promise<void> {
    this.writes.push({ batch, queuesAtStart: this.machine().queueNames().length });
    if (this.mode === 'fail') return Promise.reject(new Error('disk full'));
    if (this.mode === 'hold') return new Promise((resolve) => this.held.push(resolve));
    return Promise.resolve();
  }

  get pending(): number {
    return this.held.length;
  }

  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  readLog = async (): Promise<never[]> => [];
  truncateFrom = async (): Promise<void> => {};
  trimBefore = async (): Promise<void> => {};
}

/** A leader that answers each fetch with what the test scripts next. */
class ScriptedLeader {
  readonly requests: FetchRequest[] = [];
  private waiting: Array<(response: FetchResponse) => void> = [];

  fetch = (_url: string, req: FetchRequest): Promise<FetchResponse> => {
    this.requests.push(req);
    return new Promise((resolve) => this.waiting.push(resolve));
  };

  snapshot = (): never => {
    throw new Error('no snapshots here');
  };

  close = async (): Promise<void> => {};

  get parked(): number {
    return this.waiting.length;
  }

  answer(records: Array<{ offset: number; payload: QueueLogRecord }>, highWatermark: number): void {
    const entries = records.map((r) => encodeLogEntry({ offset: r.offset, epoch: EPOCH, payload: r.payload }));
    this.waiting.shift()!({ kind: 'records', epoch: EPOCH, entries, highWatermark, logStart: 0 });
  }
}

/** Yields to the event loop until `cond` holds; fails after 5 s (the loop's retry waits are timers). */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Two records as a leader would log them: a queue's creation and a send to it. */
function records(): Array<{ offset: number; payload: QueueLogRecord }> {
  const leader = new QueueStateMachine();
  const create = leader.decideCreateQueue('q', defaultQueueConfig(false), 'arn:aws:sqs:us-east-1:000000000000:q', 1_000).record!;
  leader.apply(create, 0);
  let n = 0;
  const send = leader.decideSend('q', [{ body: 'hello' }], { now: 1_001, random: () => 0.5, newMessageId: () => `m-${n++}` }).record!;
  return [
    { offset: 0, payload: create },
    { offset: 1, payload: send },
  ];
}

function setup(t: Test) {
  const store = new FakeStore();
  const log = new ReplicaLog(store as never, { checkpoint: { appliedEnd: 0, logStart: 0, epochs: [] }, logEnd: 0, lastEpoch: -1 });
  const leader = new ScriptedLeader();
  const follower = new Follower(log, new QueueStateMachine(), store as never, {
    nodeId: 'n2',
    clusterId: 'c',
    transport: leader,
    target: () => ({ id: 'n1', url: 'http://leader', epoch: EPOCH }),
    waitForChange: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 20))),
    knownEpoch: () => EPOCH,
    onEpochSeen: () => {},
    reloadState: async () => new QueueStateMachine(),
    log: () => {},
    fetchWaitMs: 1_000,
    materializeBodies: async () => new WriteSet(),
  });
  store.machine = () => follower.stateMachine;
  follower.start();
  t.teardown(async () => {
    store.mode = 'ok';
    store.release();
    const stopping = follower.stop();
    // The loop may be parked on a fetch: answer it so it sees it must stop.
    for (let i = 0; i < 10 && leader.parked > 0; i++) leader.answer([], 0);
    await stopping;
  });
  return { store, log, leader, follower };
}

t.test("a fetch's records start their write before the committed records are applied, and are acknowledged once on disk", async (t) => {
  const { store, log, leader, follower } = setup(t);
  const [create, send] = records();
  await until(() => leader.parked === 1, 'the first fetch');
  leader.answer([create!], 0);
  await until(() => leader.parked === 1 && leader.requests.length === 2, 'the second fetch');
  t.equal(leader.requests[1]!.fetchOffset, 1, 'record 0 acknowledged');

  store.mode = 'hold';
  // Record 1 arrives with the news that record 0 is committed.
  leader.answer([send!], 1);
  await until(() => store.pending === 1, 'the write of record 1 has started');
  const write = store.writes.at(-1)!;
  t.same(write.batch.entries?.map((e) => e.offset), [1], 'it carries record 1');
  t.equal(write.queuesAtStart, 0, 'it began before record 0 was applied');
  await until(() => follower.stateMachine.queueNames().length === 1, 'record 0 is applied');
  t.pass('record 0 is applied while the write is held');
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(leader.requests.length, 2, 'no fetch acknowledges record 1 before it is on disk');
  store.mode = 'ok';
  store.release();
  await until(() => leader.requests.length === 3, 'the next fetch');
  t.equal(leader.requests[2]!.fetchOffset, 2, 'then record 1 is acknowledged');
  t.equal(log.persistedEnd, 2);
});

t.test('a state write that fails leaves the state waiting, and a later write carries it', async (t) => {
  const { store, log, leader } = setup(t);
  const [create, send] = records();
  await until(() => leader.parked === 1, 'the first fetch');
  leader.answer([create!, send!], 0);
  await until(() => leader.requests.length === 2 && leader.parked === 1, 'the second fetch');
  // Nothing new but the high watermark: both records are applied; their state waits.
  leader.answer([], 2);
  await until(() => leader.requests.length === 3 && leader.parked === 1, 'the third fetch');
  t.equal(log.appliedEnd, 0, 'the state of the applied records is not written yet');

  // An answer with nothing new writes the state that waits: the disk refuses it.
  store.mode = 'fail';
  const before = store.writes.length;
  leader.answer([], 2);
  await until(() => store.writes.length === before + 1, 'the state write was tried');
  t.ok(store.writes.at(-1)!.batch.state?.[0]?.has(queueKey(1)), "it carried the new queue's key");
  await until(() => leader.parked === 1 && leader.requests.length >= 4, 'the loop fetches again');
  t.equal(log.appliedEnd, 0, 'the checkpoint did not move');

  store.mode = 'ok';
  leader.answer([], 2);
  await until(() => log.appliedEnd === 2, 'the state is written');
  const last = store.writes.at(-1)!.batch;
  t.ok(last.state?.[0]?.has(queueKey(1)), 'the state that failed is written with the next write');
  t.equal(last.checkpoint?.appliedEnd, 2, 'with the checkpoint past both records');
});
