/**
 * Model-based tests: fast-check drives the engine and a naive model side by side through random
 * sequences of sends, receives, deletes, visibility changes, purges, clock advances, expiry runs
 * and restarts (which rebuild every index from storage), for standard and FIFO queues, over the
 * in-memory store and over LevelDB. Replay a failure with FC_SEED=<seed> (and FC_PATH=<path>).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { LevelQueueStore, MemoryQueueStore, QueueEngine, type QueueStore } from '@conveyor/backend-node';
import { md5OfBody, md5OfMessageAttributes, type MessageAttributes } from '@conveyor/client-sdk/wire';
import { FakeClock, seededRandom, sequentialIds } from '../support/index.ts';
import { QueueModel, type ModelHandle } from './queue-model.ts';

const QUEUE_VISIBILITY_S = 3;
const RETENTION_S = 60;
const PURGE_INTERVAL_MS = 60_000;

interface Real {
  engine: QueueEngine;
  clock: FakeClock;
  queue: string;
  handles: ModelHandle[];
  reopen: () => Promise<void>;
}

interface Setup {
  fifo: boolean;
  delaySeconds: number;
}

type Cmd = fc.AsyncCommand<QueueModel, Real>;

interface SendEntry {
  body: string;
  groupId: string;
  dedupId?: string;
  delaySeconds?: number;
  attributes?: MessageAttributes;
}

const attributesArb: fc.Arbitrary<MessageAttributes | undefined> = fc.option(
  fc.dictionary(
    fc.constantFrom('color', 'size', 'blob', 'trace.id'),
    fc.oneof(
      fc.string({ minLength: 1, maxLength: 8 }).map((s) => ({ DataType: 'String', StringValue: s.replace(/[^\x20-\x7e]/g, 'x') || 'x' })),
      fc.integer({ min: -1000, max: 1000 }).map((n) => ({ DataType: 'Number', StringValue: String(n) })),
      fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => ({ DataType: 'Binary', BinaryValue: b })),
    ),
    { minKeys: 1, maxKeys: 3 },
  ),
  { nil: undefined },
);

function entryArb(setup: Setup): fc.Arbitrary<SendEntry> {
  return fc.record(
    {
      body: fc.constantFrom('a', 'b', 'c', 'd', 'e').chain((p) => fc.nat(20).map((n) => `${p}${n}`)),
      groupId: fc.constantFrom('g1', 'g2', 'g3'),
      dedupId: setup.fifo ? fc.option(fc.constantFrom('d1', 'd2', 'd3', 'd4', 'd5', 'd6'), { nil: undefined }) : fc.constant(undefined),
      delaySeconds: setup.fifo ? fc.constant(undefined) : fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      attributes: attributesArb,
    },
    { requiredKeys: ['body', 'groupId'] },
  );
}

function sameAttributes(actual: MessageAttributes | undefined, expected: MessageAttributes | undefined): void {
  const norm = (a: MessageAttributes | undefined) =>
    Object.fromEntries(Object.entries(a ?? {}).map(([k, v]) => [k, { ...v, BinaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('hex') : undefined }]));
  if (JSON.stringify(norm(actual)) !== JSON.stringify(norm(expected))) {
    throw new Error(`attributes differ: ${JSON.stringify(norm(actual))} vs ${JSON.stringify(norm(expected))}`);
  }
}

class SendCmd implements Cmd {
  constructor(readonly entries: SendEntry[], readonly setup: Setup) {}
  check = (): boolean => true;
  async run(model: QueueModel, real: Real): Promise<void> {
    const now = real.clock.nowMs;
    const res = await real.engine.sendMessageBatch(
      real.queue,
      this.entries.map((e, i) => ({
        id: `e${i}`,
        body: e.body,
        groupId: e.groupId,
        dedupId: e.dedupId,
        delaySeconds: e.delaySeconds,
        attributes: e.attributes,
      })),
    );
    if (res.failed.length > 0) throw new Error(`unexpected send failure ${JSON.stringify(res.failed)}`);
    this.entries.forEach((e, i) => {
      const ok = res.successful.find((s) => s.id === `e${i}`)!;
      if (ok.md5OfBody !== md5OfBody(e.body)) throw new Error('MD5OfMessageBody differs');
      if (ok.md5OfAttributes !== md5OfMessageAttributes(e.attributes)) throw new Error('MD5OfMessageAttributes differs');
      const dedupKey = this.setup.fifo ? (e.dedupId ?? createHash('sha256').update(e.body).digest('hex')) : undefined;
      const original = model.duplicateOf(dedupKey, now);
      if (original !== undefined) {
        if (ok.messageId !== original) throw new Error(`duplicate answered ${ok.messageId}, expected original ${original}`);
        return;
      }
      const delayMs = this.setup.fifo ? this.setup.delaySeconds * 1000 : (e.delaySeconds ?? this.setup.delaySeconds) * 1000;
      model.send(ok.messageId, e.body, this.setup.fifo ? e.groupId : undefined, dedupKey, delayMs, now);
      attrsById.set(ok.messageId, e.attributes);
    });
  }
  toString = (): string => `send(${JSON.stringify(this.entries.map((e) => [e.body, e.groupId, e.dedupId, e.delaySeconds]))})`;
}

// Attributes sent with each message, to compare with what receives return.
const attrsById = new Map<string, MessageAttributes | undefined>();

class ReceiveCmd implements Cmd {
  constructor(readonly max: number, readonly visibility: number | undefined) {}
  check = (): boolean => true;
  async run(model: QueueModel, real: Real): Promise<void> {
    const now = real.clock.nowMs;
    const got = await real.engine.receiveMessage(real.queue, { maxMessages: this.max, visibilityTimeoutSeconds: this.visibility, waitTimeSeconds: 0 });
    const visibilityMs = (this.visibility ?? QUEUE_VISIBILITY_S) * 1000;
    if (model.fifo) {
      const runs = model.deliverableByGroup(now);
      const available = [...runs.values()].reduce((n, r) => n + r.length, 0);
      if (got.length !== Math.min(this.max, available)) throw new Error(`FIFO receive returned ${got.length}, expected ${Math.min(this.max, available)}`);
      const byGroup = new Map<string, string[]>();
      for (const m of got) {
        const g = m.systemAttributes.MessageGroupId!;
        byGroup.set(g, [...(byGroup.get(g) ?? []), m.messageId]);
      }
      for (const [g, ids] of byGroup) {
        const expected = (runs.get(g) ?? []).slice(0, ids.length).map((m) => m.id);
        if (JSON.stringify(ids) !== JSON.stringify(expected)) throw new Error(`group ${g} order: got ${ids}, expected prefix ${expected}`);
      }
    } else {
      const visible = new Set(model.visible(now).map((m) => m.id));
      if (got.length !== Math.min(this.max, visible.size)) throw new Error(`receive returned ${got.length}, expected ${Math.min(this.max, visible.size)}`);
      for (const m of got) if (!visible.has(m.messageId)) throw new Error(`received ${m.messageId}, which is not visible`);
    }
    for (const m of got) {
      const mm = model.markReceived(m.messageId, visibilityMs, now);
      if (m.body !== mm.body) throw new Error(`body of ${m.messageId} is ${m.body}, expected ${mm.body}`);
      if (m.md5OfBody !== md5OfBody(mm.body)) throw new Error('MD5OfBody differs');
      if (m.systemAttributes.ApproximateReceiveCount !== String(mm.receiveCount)) throw new Error(`receive count ${m.systemAttributes.ApproximateReceiveCount}, expected ${mm.receiveCount}`);
      sameAttributes(m.attributes, attrsById.get(m.messageId));
      if (m.md5OfMessageAttributes !== md5OfMessageAttributes(attrsById.get(m.messageId))) throw new Error('received MD5OfMessageAttributes differs');
      real.handles.push({ handle: m.receiptHandle, messageId: m.messageId, receiveNo: mm.receiveNo });
    }
  }
  toString = (): string => `receive(${this.max}, ${this.visibility})`;
}

class DeleteCmd implements Cmd {
  constructor(readonly pick: number) {}
  check = (): boolean => true;
  async run(model: QueueModel, real: Real): Promise<void> {
    if (real.handles.length === 0) return;
    const h = real.handles[this.pick % real.handles.length]!;
    const expected = model.delete(h, real.clock.nowMs);
    const res = await real.engine.deleteMessageBatch(real.queue, [{ id: 'x', receiptHandle: h.handle }]);
    const actual = res.failed.length > 0 ? res.failed[0]!.code : 'ok';
    if (actual !== expected) throw new Error(`delete answered ${actual}, expected ${expected}`);
  }
  toString = (): string => `delete(#${this.pick})`;
}

class ChangeVisibilityCmd implements Cmd {
  constructor(readonly pick: number, readonly timeout: number) {}
  check = (): boolean => true;
  async run(model: QueueModel, real: Real): Promise<void> {
    if (real.handles.length === 0) return;
    const h = real.handles[this.pick % real.handles.length]!;
    const expected = model.changeVisibility(h, this.timeout, real.clock.nowMs);
    const res = await real.engine.changeMessageVisibilityBatch(real.queue, [{ id: 'x', receiptHandle: h.handle, visibilityTimeoutSeconds: this.timeout }]);
    const actual = res.failed.length > 0 ? res.failed[0]!.code : 'ok';
    if (actual !== expected) throw new Error(`change visibility answered ${actual}, expected ${expected}`);
  }
  toString = (): string => `changeVisibility(#${this.pick}, ${this.timeout})`;
}

class PurgeCmd implements Cmd {
  check = (): boolean => true;
  async run(model: QueueModel, real: Real): Promise<void> {
    const expected = model.purge(real.clock.nowMs);
    const actual = await real.engine.purgeQueue(real.queue).then(
      () => 'ok',
      (e: { code?: string }) => e.code ?? String(e),
    );
    if (actual !== expected) throw new Error(`purge answered ${actual}, expected ${expected}`);
  }
  toString = (): string => 'purge';
}

class AdvanceCmd implements Cmd {
  constructor(readonly ms: number) {}
  check = (): boolean => true;
  async run(_model: QueueModel, real: Real): Promise<void> {
    real.clock.advance(this.ms);
  }
  toString = (): string => `advance(${this.ms})`;
}

class ExpireCmd implements Cmd {
  check = (): boolean => true;
  async run(model: QueueModel, real: Real): Promise<void> {
    await real.engine.expire();
    model.expire(real.clock.nowMs);
  }
  toString = (): string => 'expire';
}

class RestartCmd implements Cmd {
  check = (): boolean => true;
  async run(_model: QueueModel, real: Real): Promise<void> {
    await real.reopen();
  }
  toString = (): string => 'restart';
}

class CountsCmd implements Cmd {
  check = (): boolean => true;
  async run(model: QueueModel, real: Real): Promise<void> {
    const { counts } = await real.engine.describeQueue(real.queue);
    const expected = model.counts(real.clock.nowMs);
    if (JSON.stringify(counts) !== JSON.stringify(expected)) throw new Error(`counts ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`);
  }
  toString = (): string => 'counts';
}

function commandsArb(setup: Setup): fc.Arbitrary<Iterable<Cmd>> {
  return fc.commands(
    [
      fc.array(entryArb(setup), { minLength: 1, maxLength: 4 }).map((e) => new SendCmd(e, setup)),
      fc.record({ max: fc.integer({ min: 1, max: 10 }), vis: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }) }).map((r) => new ReceiveCmd(r.max, r.vis)),
      fc.nat().map((n) => new DeleteCmd(n)),
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 })).map(([n, s]) => new ChangeVisibilityCmd(n, s)),
      fc.constant(new PurgeCmd()),
      fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 30_000, max: 100_000 }) }).map((ms) => new AdvanceCmd(ms)),
      fc.constant(new ExpireCmd()),
      fc.constant(new RestartCmd()),
      fc.constant(new CountsCmd()),
    ],
    { maxCommands: 80, size: 'max', replayPath: process.env.FC_PATH },
  );
}

type StoreFactory = () => Promise<{ open: () => Promise<QueueStore>; dispose: () => Promise<void> }>;

const memoryStores: StoreFactory = async () => {
  const store = new MemoryQueueStore();
  return { open: async () => store, dispose: async () => {} };
};

const levelStores: StoreFactory = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'conveyor-model-'));
  return { open: () => LevelQueueStore.open(dir), dispose: () => rm(dir, { recursive: true, force: true }) };
};

async function runModel(setup: Setup, stores: StoreFactory, cmds: Iterable<Cmd>): Promise<void> {
  const { open, dispose } = await stores();
  const clock = new FakeClock();
  const random = seededRandom(7);
  const ids = sequentialIds();
  const openEngine = async (): Promise<QueueEngine> =>
    QueueEngine.open({ store: await open(), clock: clock.now, random, newMessageId: ids, expireIntervalMs: 0, stateMachine: { purgeIntervalMs: PURGE_INTERVAL_MS } });
  const queue = setup.fifo ? 'model.fifo' : 'model';
  const engine = await openEngine();
  const attributes: Record<string, string> = { VisibilityTimeout: String(QUEUE_VISIBILITY_S), MessageRetentionPeriod: String(RETENTION_S), DelaySeconds: String(setup.delaySeconds) };
  if (setup.fifo) Object.assign(attributes, { FifoQueue: 'true', ContentBasedDeduplication: 'true' });
  await engine.createQueue(queue, attributes);
  const real: Real = {
    engine,
    clock,
    queue,
    handles: [],
    reopen: async () => {
      await real.engine.close();
      real.engine = await openEngine();
    },
  };
  const model = new QueueModel(setup.fifo, QUEUE_VISIBILITY_S * 1000, RETENTION_S * 1000, PURGE_INTERVAL_MS);
  try {
    await fc.asyncModelRun(() => ({ model, real }), cmds);
  } finally {
    await real.engine.close();
    await dispose();
  }
}

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;

for (const fifo of [false, true]) {
  for (const [storeName, stores, numRuns] of [['memory', memoryStores, 150], ['leveldb', levelStores, 12]] as const) {
    t.test(`${fifo ? 'FIFO' : 'standard'} queue engine matches the model (${storeName} store)`, async (t) => {
      const setupArb = fc.record({ fifo: fc.constant(fifo), delaySeconds: fc.constantFrom(0, 0, 2) });
      await fc.assert(
        fc.asyncProperty(setupArb.chain((setup) => commandsArb(setup).map((cmds) => ({ setup, cmds }))), ({ setup, cmds }) => runModel(setup, stores, cmds)),
        { numRuns, seed, verbose: 0 },
      );
      t.pass(`${numRuns} random command sequences agreed with the model`);
    });
  }
}
