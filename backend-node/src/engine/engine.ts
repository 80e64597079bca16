/**
 * The single-node queue engine: the state machine, a store, and group commit between them.
 *
 * Every operation runs the state machine's decide step synchronously (so it sees every earlier
 * operation, committed or not), applies the resulting record to memory, and answers only when the
 * group commit holding its mutations is durable. Reads wait for the same barrier, so no answer
 * ever shows state that a crash could take back.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  ConveyorError,
  LIMITS,
  checkBatchEntries,
  checkSendBatch,
  checkQueueId,
  checkReceiveRequestAttemptId,
  checkWaitTimeSeconds,
  defaultQueueConfig,
  isFifoName,
  parseQueueAttributes,
  type QueueConfig,
  type AnswerMessage,
  type ReceivedSystemAttributes,
} from '@conveyor/client-sdk/wire';
import { QueueStateMachine, type DecideContext, type HandleOutcome, type ReceiveInput, type SendInput, type SendOutcome, type StateMachineOptions } from '../queue/state-machine.ts';
import type { EncodedBody, MessageBody, MessageMeta, QueueLogRecord, QueueRecord, StoreMutation } from '../queue/types.ts';
import type { QueueStore } from '../storage/queue-store.ts';
import { decodeEncodedBody } from '../storage/send-entry-skim.ts';
import { decodeReceiptHandle } from '../queue/receipt-handle.ts';
import { GroupCommitter } from './group-commit.ts';

/**
 * Where the engine's records go once decided and applied in memory. Single node: group commit to
 * the local store. Replicated: the cluster's log, answered at the high watermark.
 */
export interface CommitPipeline {
  /** Resolves when the record (and the mutations its apply produced) can no longer be lost. */
  commit(record: QueueLogRecord, mutations: readonly StoreMutation[]): Promise<void>;
  /** Resolves when everything committed so far is safe; reads wait on it. */
  barrier(): Promise<void>;
  /** Throws a retryable ConveyorError if nothing new may be decided now. */
  assertWritable(): void;
  /** The log offset the next committed record will get, when records go to a log. */
  nextOffset?(): number;
}

/** Reads bodies that live in log records (replicas): one per ref, undefined where gone. */
export type LogBodySource = (refs: ReadonlyArray<{ id: string; logRef: number }>) => Promise<Array<EncodedBody | undefined>>;

export interface EngineOptions {
  store: QueueStore;
  clock?: () => number;
  random?: () => number;
  newMessageId?: () => string;
  stateMachine?: Partial<StateMachineOptions>;
  /**
   * Bytes of recently sent bodies kept in memory so receives rarely read the disk; 0 for none.
   * A replica sets none: its log keeps recent records encoded in memory, which is cheaper than
   * holding the bodies as strings, which every garbage collection would go over.
   */
  bodyCacheBytes?: number;
  /** How often retention and the dedup window are enforced; 0 turns the timer off (tests call expire()). */
  expireIntervalMs?: number;
  /** Region and account used to form ARNs of queues created here. */
  arnPrefix?: string;
  /** Where bodies kept in the replicated log are read from. */
  logBodies?: LogBodySource;
}

export const ENGINE_DEFAULTS = Object.freeze({
  bodyCacheBytes: 128 * 1024 * 1024,
  expireIntervalMs: 1_000,
  arnPrefix: 'arn:aws:sqs:local:000000000000',
});

/** A received message, as the native API carries it; with `encodedBodies`, its body and attributes may come as their send record encodes them (see AnswerMessage). */
export type ReceivedMessage = AnswerMessage;

export interface ReceiveOptions extends ReceiveInput {
  waitTimeSeconds?: number;
  signal?: AbortSignal;
  /** FIFO ReceiveRequestAttemptId: a retry within 5 minutes gets the same messages and handles back. */
  attemptId?: string;
  /** false: messages come with empty systemAttributes (the caller wants none; not for attempts, whose answer is kept). */
  systemAttributes?: boolean;
  /**
   * true: a body read from its send record comes as the record encodes it (`encodedBody` and
   * `encodedAttributes`, `body` empty), for an answer that copies the bytes (encodeReceiveAnswer).
   */
  encodedBodies?: boolean;
}

const NO_SYSTEM_ATTRIBUTES: ReceivedSystemAttributes = Object.freeze({}) as ReceivedSystemAttributes;

/** The message with its encoded body and attributes in buffers of their own (not views into their record). */
function ownEncoding(m: ReceivedMessage): ReceivedMessage {
  if (m.encodedBody === undefined) return m;
  const copy: ReceivedMessage = { ...m, encodedBody: Buffer.from(m.encodedBody) };
  if (m.encodedAttributes !== undefined) copy.encodedAttributes = Buffer.from(m.encodedAttributes);
  return copy;
}

/** How long a FIFO receive attempt can be retried for the same answer (SQS: 5 minutes). */
const RECEIVE_ATTEMPT_TTL_MS = 5 * 60_000;

export interface QueueDescription {
  name: string;
  arn: string;
  config: QueueConfig;
  createdAt: number;
  lastModifiedAt: number;
  counts: { visible: number; inflight: number; delayed: number };
}

export interface BatchResult<S> {
  successful: Array<S & { id: string }>;
  failed: Array<{ id: string; code: string; message: string; senderFault: boolean }>;
}

function failedEntry(id: string, error: ConveyorError): BatchResult<object>['failed'][number] {
  return { id, code: error.code, message: error.message, senderFault: error.info.senderFault };
}

/**
 * Text of a number, remembered for the last value: a receive takes runs of messages sent together
 * (one timestamp) and first received together, so most conversions repeat the one before.
 */
function lastTextOf(): (n: number) => string {
  let last = Number.NaN;
  let text = '';
  return (n) => (n === last ? text : ((last = n), (text = String(n))));
}
const sentText = lastTextOf();
const firstReceiveText = lastTextOf();
const COUNT_TEXT = Array.from({ length: 100 }, (_, i) => String(i));

function systemAttributesOf(meta: MessageMeta): ReceivedSystemAttributes {
  const out: ReceivedSystemAttributes = {
    SentTimestamp: sentText(meta.sentAt),
    ApproximateReceiveCount: COUNT_TEXT[meta.receiveCount] ?? String(meta.receiveCount),
    ApproximateFirstReceiveTimestamp: firstReceiveText(meta.firstReceiveAt),
  };
  if (meta.senderId !== undefined) out.SenderId = meta.senderId;
  if (meta.sequenceNumber !== undefined) out.SequenceNumber = meta.sequenceNumber;
  if (meta.dedupId !== undefined) out.MessageDeduplicationId = meta.dedupId;
  if (meta.groupId !== undefined) out.MessageGroupId = meta.groupId;
  if (meta.traceHeader !== undefined) out.AWSTraceHeader = meta.traceHeader;
  if (meta.dlqSourceArn !== undefined) out.DeadLetterQueueSourceArn = meta.dlqSourceArn;
  return out;
}

function localPipeline(committer: GroupCommitter): CommitPipeline {
  return {
    commit: (_record, mutations) => committer.commit(mutations),
    barrier: () => committer.barrier(),
    assertWritable: () => committer.assertHealthy(),
  };
}

export class QueueEngine {
  private readonly machine: QueueStateMachine;
  private readonly committer: CommitPipeline;
  private readonly localCommitter: GroupCommitter | undefined;
  private readonly ownsStore: boolean;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly newMessageId: () => string;
  private readonly bodies: LRUCache<string, MessageBody> | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Notifications per queue so far: a long poll that saw this change while it looked must look again, not wait. */
  private readonly changes = new Map<string, number>();
  /** FIFO receive attempts kept on this node for retries (not replicated: after a failover a retry gets new messages). */
  private readonly receiveAttempts = new LRUCache<string, ReceivedMessage[]>({ max: 10_000, ttl: RECEIVE_ATTEMPT_TTL_MS });
  private readonly arnPrefix: string;
  private readonly logBodies: LogBodySource | undefined;
  private expireTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly store: QueueStore, options: EngineOptions, machine?: QueueStateMachine, pipeline?: CommitPipeline) {
    this.machine = machine ?? new QueueStateMachine(options.stateMachine);
    if (pipeline) {
      this.committer = pipeline;
      this.ownsStore = false;
    } else {
      this.localCommitter = new GroupCommitter((m) => store.write(m));
      this.committer = localPipeline(this.localCommitter);
      this.ownsStore = true;
    }
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    this.newMessageId = options.newMessageId ?? randomUUID;
    this.arnPrefix = options.arnPrefix ?? ENGINE_DEFAULTS.arnPrefix;
    this.logBodies = options.logBodies;
    const bodyCacheBytes = options.bodyCacheBytes ?? ENGINE_DEFAULTS.bodyCacheBytes;
    this.bodies = bodyCacheBytes > 0 ? new LRUCache<string, MessageBody>({ maxSize: bodyCacheBytes, sizeCalculation: (b) => Math.max(1, b.body.length * 2) }) : undefined;
  }

  /** Opens the engine over a store, rebuilding the in-memory indexes from what the store holds. */
  static async open(options: EngineOptions): Promise<QueueEngine> {
    const engine = new QueueEngine(options.store, options);
    const now = engine.clock();
    for (const queue of await options.store.load()) engine.machine.loadQueue(queue.record, queue.metas, queue.dedup, now);
    engine.machine.setQueueIdFloor(await options.store.loadQueueIdFloor());
    engine.startExpiry(options);
    return engine;
  }

  /** An engine over a state machine someone else keeps (a replica), committing through `pipeline`. */
  static over(machine: QueueStateMachine, pipeline: CommitPipeline, options: EngineOptions): QueueEngine {
    const engine = new QueueEngine(options.store, options, machine, pipeline);
    engine.startExpiry(options);
    return engine;
  }

  private startExpiry(options: EngineOptions): void {
    const interval = options.expireIntervalMs ?? ENGINE_DEFAULTS.expireIntervalMs;
    if (interval > 0) {
      this.expireTimer = setInterval(() => void this.expire().catch(() => {}), interval);
      this.expireTimer.unref();
    }
  }

  get commitStats(): { writes: number; mutations: number } {
    return this.localCommitter?.stats ?? { writes: 0, mutations: 0 };
  }

  private context(): DecideContext {
    if (this.closed) throw new ConveyorError('ServiceUnavailable', 'The engine is closed.');
    this.committer.assertWritable();
    return { now: this.clock(), random: this.random, newMessageId: this.newMessageId };
  }

  /** Applies a record to memory and returns the promise of its durability. */
  private run(record: QueueLogRecord): Promise<void> {
    const mutations = this.machine.apply(record, this.committer.nextOffset?.());
    this.afterApply(record, mutations);
    return this.committer.commit(record, mutations);
  }

  private afterApply(record: QueueLogRecord, mutations: readonly StoreMutation[]): void {
    if (record.type === 'send') {
      if (this.bodies) for (const m of record.messages) this.bodies.set(m.id, m.attributes ? { body: m.body, attributes: m.attributes } : { body: m.body });
      this.notify(record.queue);
    } else {
      if (this.bodies) for (const m of mutations) if (m.op === 'delBody') this.bodies.delete(m.messageId);
      // A delete can unlock a FIFO group or make room under the in-flight limit; long polls must look again.
      if (record.type === 'changeVisibility' || record.type === 'delete') this.notify(record.queue);
      if (record.type === 'receive' && record.moved.length > 0) {
        const dlq = this.machine.queue(record.queue).record.config.redrive?.deadLetterQueue;
        if (dlq) this.notify(dlq);
      }
    }
  }

  // ---------------------------------------------------------------- queues

  /** Creates a queue (idempotent for equal attributes). `arn` is given by the metadata layer, which knows the owner. */
  async createQueue(name: string, attributes: Readonly<Record<string, string>> = {}, arn?: string): Promise<QueueRecord> {
    checkQueueId(name);
    const config = parseQueueAttributes(name, attributes, defaultQueueConfig(isFifoName(name)), true);
    const ctx = this.context();
    const { record, result } = this.machine.decideCreateQueue(name, config, arn ?? `${this.arnPrefix}:${name}`, ctx.now);
    if (record) await this.run(record);
    else await this.committer.barrier();
    return result;
  }

  async setQueueAttributes(name: string, attributes: Readonly<Record<string, string>>): Promise<void> {
    const current = this.machine.queue(name).record.config;
    const config = parseQueueAttributes(name, attributes, current, false);
    const { record } = this.machine.decideUpdateQueue(name, config, this.context().now);
    if (record) await this.run(record);
  }

  /** Refuses further sends to a queue that moves to `movedTo` (replicated, so it survives failover). */
  async sealQueue(name: string, movedTo: string): Promise<void> {
    const { record } = this.machine.decideSealQueue(name, movedTo, this.context().now);
    if (record) await this.run(record);
    else await this.committer.barrier();
  }

  async deleteQueue(name: string): Promise<void> {
    const { record } = this.machine.decideDeleteQueue(name, this.context().now);
    if (record) await this.run(record);
    this.notify(name);
  }

  listQueues(prefix = ''): string[] {
    return this.machine.queueNames().filter((n) => n.startsWith(prefix)).sort();
  }

  /** Approximate counters of every queue, now (no wait for durability: for status and placement). */
  queueCounts(): Record<string, { visible: number; inflight: number; delayed: number }> {
    const out: Record<string, { visible: number; inflight: number; delayed: number }> = {};
    const now = this.machine.timestamp(this.clock());
    for (const name of this.machine.queueNames()) out[name] = this.machine.queue(name).counts(now);
    return out;
  }

  async describeQueue(name: string): Promise<QueueDescription> {
    const ctx = this.context();
    const state = this.machine.queue(name);
    const counts = state.counts(this.machine.timestamp(ctx.now));
    const { record } = state;
    await this.committer.barrier();
    return { name, arn: record.arn, config: record.config, createdAt: record.createdAt, lastModifiedAt: record.lastModifiedAt, counts };
  }

  // ---------------------------------------------------------------- messages

  /** SendMessage: one message; an invalid message fails the call. */
  async sendMessage(queue: string, input: SendInput): Promise<Extract<SendOutcome, { ok: true }>> {
    const [outcome] = await this.send(queue, [input]);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!;
  }

  /** SendMessageBatch: batch-level rules fail the call; entry-level ones fail just the entry. */
  async sendMessageBatch(queue: string, entries: ReadonlyArray<SendInput & { id: string }>, maxEntries: number = LIMITS.maxBatchEntries): Promise<BatchResult<Extract<SendOutcome, { ok: true }>>> {
    checkSendBatch(entries, maxEntries);
    const outcomes = await this.send(queue, entries);
    const result: BatchResult<Extract<SendOutcome, { ok: true }>> = { successful: [], failed: [] };
    outcomes.forEach((o, i) => {
      const id = entries[i]!.id;
      // Spelled out: V8 takes a slow path (~1 µs) to add a property to a spread copy.
      if (o.ok) result.successful.push({ ok: true, messageId: o.messageId, md5OfBody: o.md5OfBody, md5OfAttributes: o.md5OfAttributes, sequenceNumber: o.sequenceNumber, duplicate: o.duplicate, id });
      else result.failed.push(failedEntry(id, o.error));
    });
    return result;
  }

  private async send(queue: string, inputs: readonly SendInput[]): Promise<SendOutcome[]> {
    const { record, result } = this.machine.decideSend(queue, inputs, this.context());
    if (record) await this.run(record);
    else await this.committer.barrier(); // a duplicate's original may still be on its way to disk
    return result;
  }

  /** ReceiveMessage; with waitTimeSeconds > 0, waits (here, at the queue's node) until a message is visible. */
  async receiveMessage(queue: string, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const state = this.machine.queue(queue);
    if (options.attemptId !== undefined && state.fifo) {
      const attemptId = checkReceiveRequestAttemptId(options.attemptId);
      const key = `${state.record.queueId} ${attemptId}${options.encodedBodies === true ? ' encoded' : ''}`;
      const earlier = this.receiveAttempts.get(key);
      if (earlier) {
        // The same messages, while each is still in flight under the handle handed out then.
        state.advance(this.machine.timestamp(this.clock()));
        const still = earlier.filter((m) => {
          const h = decodeReceiptHandle(m.receiptHandle);
          const meta = h ? state.messages.get(h.seq) : undefined;
          return meta !== undefined && meta.nonce === h!.nonce && state.statusOf(h!.seq) === 'inflight';
        });
        if (still.length > 0) {
          await this.committer.barrier();
          return still;
        }
      }
      const fresh = await this.receiveMessage(queue, { ...options, attemptId: undefined, systemAttributes: true }); // kept for retries: whole
      // Kept a while: encoded bodies are copied out of their records, which views would keep alive.
      if (fresh.length > 0) this.receiveAttempts.set(key, fresh.map(ownEncoding));
      return fresh;
    }
    const waitSeconds = options.waitTimeSeconds === undefined ? this.machine.queue(queue).record.config.receiveWaitMs / 1000 : checkWaitTimeSeconds(options.waitTimeSeconds);
    const deadline = this.clock() + waitSeconds * 1000;
    const input: ReceiveInput = { ...options, longPoll: waitSeconds > 0 };
    // Bounded: every pass either returns or waits for an event, a visibility deadline or the end of the poll.
    for (;;) {
      const seen = this.changes.get(queue) ?? 0;
      const messages = await this.receiveOnce(queue, input, options.systemAttributes !== false, options.encodedBodies === true);
      if (messages.length > 0 || options.signal?.aborted) return messages;
      const remaining = deadline - this.clock();
      if (remaining <= 0) return messages;
      // A send applied while this pass awaited (the commit barrier) notified before we listened.
      if ((this.changes.get(queue) ?? 0) !== seen) continue;
      await this.waitForMessages(queue, remaining, options.signal);
      if (this.closed || !this.machine.hasQueue(queue)) return [];
    }
  }

  private async receiveOnce(queue: string, input: ReceiveInput, withSystemAttributes = true, encoded = false): Promise<ReceivedMessage[]> {
    const { record, result } = this.machine.decideReceive(queue, input, this.context());
    if (!record) {
      await this.committer.barrier();
      return [];
    }
    const durable = this.run(record);
    const state = this.machine.queue(queue);
    const picked = result.seqs.map((seq) => {
      const meta = state.messages.get(seq)!;
      return { meta: { ...meta }, receiptHandle: this.machine.receiptHandle(queue, seq) };
    });
    await durable;
    const bodies = await this.loadBodies(picked.map((p) => p.meta));
    const out: ReceivedMessage[] = [];
    picked.forEach(({ meta, receiptHandle }, i) => {
      let stored = bodies[i];
      if (!stored) return; // purged or expired between the receive and the read: gone, not lost
      if ('encodedBody' in stored && !encoded) stored = decodeEncodedBody(stored);
      const message: ReceivedMessage = {
        messageId: meta.id,
        receiptHandle,
        body: 'body' in stored ? stored.body : '',
        md5OfBody: meta.md5OfBody,
        systemAttributes: withSystemAttributes ? systemAttributesOf(meta) : NO_SYSTEM_ATTRIBUTES,
      };
      if ('encodedBody' in stored) message.encodedBody = stored.encodedBody;
      const hasAttributes = 'encodedBody' in stored ? stored.encodedAttributes !== undefined : stored.attributes !== undefined;
      if (hasAttributes) {
        if ('encodedBody' in stored) message.encodedAttributes = stored.encodedAttributes;
        else message.attributes = stored.attributes;
        if (meta.md5OfAttributes !== undefined) message.md5OfMessageAttributes = meta.md5OfAttributes;
      }
      out.push(message);
    });
    return out;
  }

  private async loadBodies(metas: readonly MessageMeta[]): Promise<Array<MessageBody | EncodedBody | undefined>> {
    const out: Array<MessageBody | EncodedBody | undefined> = metas.map((m) => this.bodies?.get(m.id));
    const fromLog: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i] === undefined && metas[i]!.logRef !== undefined && this.logBodies) fromLog.push(i);
    if (fromLog.length > 0) {
      const loaded = await this.logBodies!(fromLog.map((i) => ({ id: metas[i]!.id, logRef: metas[i]!.logRef! })));
      fromLog.forEach((i, j) => (out[i] = loaded[j]));
    }
    // Bodies of their own: single-node messages, and replicated ones whose log records were trimmed.
    const fromStore: number[] = [];
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) fromStore.push(i);
    if (fromStore.length > 0) {
      const loaded = await this.store.readBodies(fromStore.map((i) => metas[i]!.id));
      fromStore.forEach((i, j) => (out[i] = loaded[j]));
    }
    return out;
  }

  private waitForMessages(queue: string, maxWaitMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(queue);
      if (!set) this.waiters.set(queue, (set = new Set()));
      const nextVisible = this.machine.hasQueue(queue) ? this.machine.queue(queue).nextVisibleAt() : undefined;
      const untilVisible = nextVisible === undefined ? maxWaitMs : Math.max(1, nextVisible - this.clock());
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.min(maxWaitMs, untilVisible));
      set.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private notify(queue: string): void {
    this.changes.set(queue, (this.changes.get(queue) ?? 0) + 1);
    const set = this.waiters.get(queue);
    if (!set) return;
    for (const wake of [...set]) wake();
  }

  async deleteMessage(queue: string, receiptHandle: string): Promise<void> {
    const [outcome] = await this.deleteHandles(queue, [receiptHandle]);
    if (!outcome!.ok) throw outcome!.error;
  }

  async deleteMessageBatch(queue: string, entries: ReadonlyArray<{ id: string; receiptHandle: string }>, maxEntries: number = LIMITS.maxBatchEntries): Promise<BatchResult<object>> {
    checkBatchEntries(entries.map((e) => ({ Id: e.id })), 'DeleteMessageBatchRequestEntry', maxEntries);
    const outcomes = await this.deleteHandles(queue, entries.map((e) => e.receiptHandle));
    return this.toBatchResult(entries, outcomes);
  }

  private async deleteHandles(queue: string, handles: readonly string[]): Promise<HandleOutcome[]> {
    const { record, result } = this.machine.decideDelete(queue, handles, this.context().now);
    if (record) await this.run(record);
    else await this.committer.barrier();
    return result;
  }

  async changeMessageVisibility(queue: string, receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void> {
    const [outcome] = await this.changeVisibility(queue, [{ receiptHandle, visibilityTimeoutSeconds }]);
    if (!outcome!.ok) throw outcome!.error;
  }

  async changeMessageVisibilityBatch(
    queue: string,
    entries: ReadonlyArray<{ id: string; receiptHandle: string; visibilityTimeoutSeconds: number }>,
    maxEntries: number = LIMITS.maxBatchEntries,
  ): Promise<BatchResult<object>> {
    checkBatchEntries(entries.map((e) => ({ Id: e.id })), 'ChangeMessageVisibilityBatchRequestEntry', maxEntries);
    const outcomes = await this.changeVisibility(queue, entries);
    return this.toBatchResult(entries, outcomes);
  }

  private async changeVisibility(queue: string, changes: ReadonlyArray<{ receiptHandle: string; visibilityTimeoutSeconds: number }>): Promise<HandleOutcome[]> {
    const { record, result } = this.machine.decideChangeVisibility(queue, changes, this.context().now);
    if (record) await this.run(record);
    else await this.committer.barrier();
    return result;
  }

  private toBatchResult(entries: ReadonlyArray<{ id: string }>, outcomes: readonly HandleOutcome[]): BatchResult<object> {
    const result: BatchResult<object> = { successful: [], failed: [] };
    outcomes.forEach((o, i) => {
      const id = entries[i]!.id;
      if (o.ok) result.successful.push({ id });
      else result.failed.push(failedEntry(id, o.error));
    });
    return result;
  }

  async purgeQueue(queue: string): Promise<void> {
    const { record } = this.machine.decidePurge(queue, this.context().now);
    if (record) await this.run(record);
  }

  /** Drops messages past their queue's retention and dedup entries past the window. */
  async expire(): Promise<void> {
    const record = this.machine.decideExpire(this.context().now);
    if (record) await this.run(record);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.expireTimer) clearInterval(this.expireTimer);
    await this.committer.barrier().catch(() => {});
    this.closed = true;
    for (const queue of this.waiters.keys()) this.notify(queue);
    if (this.ownsStore) await this.store.close();
  }
}
