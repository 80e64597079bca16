/**
 * The queue engine's rules as a deterministic state machine over every queue a node holds.
 *
 * Leader side, `decide*` methods read the state and a request, check SQS's rules and return the
 * log record that carries the change (or an error) without changing anything. Every replica then
 * runs `apply(record)`, the only mutator, which returns the storage mutations to persist. Time,
 * randomness and message ids come from the caller (`DecideContext`), and the leader's timestamp
 * travels in the record, so applying the same records in the same order gives the same state.
 */
import {
  hexDigest,
  ConveyorError,
  LIMITS,
  checkDeduplicationId,
  checkDelaySeconds,
  checkIntegerInRange,
  checkMaxNumberOfMessages,
  checkMessageAttributes,
  checkMessageBody,
  checkMessageGroupId,
  checkMessageSize,
  checkVisibilityTimeout,
  formatQueueConfig,
  invalidParameter,
  md5OfBody,
  md5OfMessageAttributes,
  missingParameter,
  queueDoesNotExist,
  type NativeSendEntry,
} from '@conveyor/client-sdk/wire';
import { QueueState, type Candidate } from './queue-state.ts';
import { MAX_NONCE, decodeReceiptHandle, encodeReceiptHandle } from './receipt-handle.ts';
import type { DedupEntry, MessageMeta, NewMessage, QueueConfig, QueueLogRecord, QueueRecord, StoreMutation } from './types.ts';

export interface DecideContext {
  now: number;
  /** Uniform in [0, 1); receipt-handle nonces come from it. */
  random: () => number;
  newMessageId: () => string;
}

export interface StateMachineOptions {
  /** Minimum time between two purges of one queue (SQS: 60 s). */
  purgeIntervalMs: number;
  maxInFlight: number;
}

export const STATE_MACHINE_DEFAULTS: StateMachineOptions = Object.freeze({
  purgeIntervalMs: 60_000,
  maxInFlight: LIMITS.maxInFlightMessages,
});

/** One message to send: the native API's send entry without its batch entry id. */
export type SendInput = Omit<NativeSendEntry, 'id'>;

export type SendOutcome =
  | { ok: true; messageId: string; md5OfBody: string; md5OfAttributes?: string; sequenceNumber?: string; duplicate: boolean }
  | { ok: false; error: ConveyorError };

export interface ReceiveInput {
  maxMessages?: number;
  /** The largest `maxMessages` allowed: SQS's 10 unless the native API allows more (up to its batch bound). */
  maxMessagesLimit?: number;
  visibilityTimeoutSeconds?: number;
  /** Long polls never fail with OverLimit; they return nothing instead, as SQS does. */
  longPoll?: boolean;
}

export type HandleOutcome = { ok: true } | { ok: false; error: ConveyorError };

export interface VisibilityChange {
  receiptHandle: string;
  visibilityTimeoutSeconds: number;
}

export interface Decision<R> {
  record?: QueueLogRecord;
  result: R;
}

const DEDUP_SCOPE_SEPARATOR = ' '; // cannot occur in group or dedup ids ([!-~])
/** Keys of message moves start with the separator, so they never meet a sender's key. */
const REDRIVE_KEY_PREFIX = `${DEDUP_SCOPE_SEPARATOR}move${DEDUP_SCOPE_SEPARATOR}`;

function sequenceNumberText(n: number): string {
  return n.toString().padStart(20, '0');
}

function invalidHandle(handle: unknown): ConveyorError {
  return new ConveyorError('ReceiptHandleIsInvalid', `The input receipt handle "${String(handle)}" is not a valid receipt handle.`);
}

function expiredHandle(handle: string): ConveyorError {
  return invalidParameter('ReceiptHandle', handle, 'The receipt handle has expired.');
}

export class QueueStateMachine {
  private readonly byName = new Map<string, QueueState>();
  private lastTs = 0;
  /** Queue ids are never reused: see decideCreateQueue. */
  private nextQueueId = 1;
  private readonly options: StateMachineOptions;

  constructor(options: Partial<StateMachineOptions> = {}) {
    this.options = { ...STATE_MACHINE_DEFAULTS, ...options };
  }

  /** Record timestamps never go backwards, even if the leader's clock does. */
  timestamp(now: number): number {
    return Math.max(now, this.lastTs);
  }

  queue(name: string): QueueState {
    const state = this.byName.get(name);
    if (!state) throw queueDoesNotExist(name);
    return state;
  }

  hasQueue(name: string): boolean {
    return this.byName.has(name);
  }

  queueNames(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * Messages whose bodies live in log records in [from, point). Messages are in log order within a
   * queue (enqueue order), so the scan stops at the first later one, unless redriven messages
   * came in out of order.
   */
  *messagesLoggedBetween(from: number, point: number): Generator<MessageMeta> {
    for (const state of this.byName.values()) {
      for (const meta of state.messages.values()) {
        if (meta.logRef === undefined || meta.logRef < from) continue;
        if (meta.logRef < point) yield meta;
        else if (!state.hasMovedIn) break;
      }
    }
  }

  // ---------------------------------------------------------------- loading at start

  /** Restores the lowest id a new queue may take (ids of deleted queues are never reused). */
  setQueueIdFloor(nextQueueId: number): void {
    this.nextQueueId = Math.max(this.nextQueueId, nextQueueId);
  }

  /** Rebuilds a queue from storage (messages must come in enqueue order). */
  loadQueue(record: QueueRecord, metas: Iterable<MessageMeta>, dedup: Iterable<[string, DedupEntry]>, now: number): void {
    const state = new QueueState(record);
    this.lastTs = Math.max(this.lastTs, record.lastModifiedAt, record.lastPurgeAt);
    for (const meta of metas) {
      state.add(meta, now);
      this.lastTs = Math.max(this.lastTs, meta.enqueuedAt, meta.receivedAt);
    }
    for (const [key, entry] of dedup) state.dedup.set(key, entry);
    this.byName.set(record.name, state);
    this.nextQueueId = Math.max(this.nextQueueId, record.queueId + 1);
  }

  // ---------------------------------------------------------------- decide (leader side, read-only)

  decideCreateQueue(name: string, config: QueueConfig, arn: string, now: number): Decision<QueueRecord> {
    const existing = this.byName.get(name);
    if (existing) {
      if (JSON.stringify(existing.record.config) !== JSON.stringify(config)) {
        // SQS names the first attribute that differs.
        const have = formatQueueConfig(existing.record.config);
        const want = formatQueueConfig(config);
        const attribute = [...new Set([...Object.keys(have), ...Object.keys(want)])].find((key) => have[key] !== want[key]);
        const message = attribute
          ? `A queue already exists with the same name and a different value for attribute ${attribute}`
          : `A queue already exists with the same name and a different configuration: ${name}`;
        throw new ConveyorError('QueueNameExists', message, { queue: name, attribute });
      }
      return { result: existing.record };
    }
    const ts = this.timestamp(now);
    // The queue id is in every receipt handle, so a deleted queue's id never comes back: a queue
    // recreated under the same name refuses the old queue's handles (the floor survives restarts).
    const queueId = this.nextQueueId;
    const queue: QueueRecord = { queueId, name, arn, config, createdAt: ts, lastModifiedAt: ts, lastPurgeAt: 0, nextSeq: 1, nextSequenceNumber: 1 };
    return { record: { type: 'createQueue', ts, queue }, result: queue };
  }

  decideUpdateQueue(name: string, config: QueueConfig, now: number): Decision<void> {
    const state = this.queue(name);
    if (state.record.config.fifo !== config.fifo) {
      throw new ConveyorError('InvalidAttributeValue', 'Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.', { queue: name });
    }
    return { record: { type: 'updateQueue', ts: this.timestamp(now), name, config }, result: undefined };
  }

  /** Seals a queue that moves to another cluster: sends are refused from now on; receives and deletes drain it. */
  decideSealQueue(name: string, movedTo: string, now: number): Decision<void> {
    const state = this.queue(name);
    if (state.record.movedTo === movedTo) return { result: undefined };
    return { record: { type: 'sealQueue', ts: this.timestamp(now), name, movedTo }, result: undefined };
  }

  decideDeleteQueue(name: string, now: number): Decision<void> {
    this.queue(name);
    return { record: { type: 'deleteQueue', ts: this.timestamp(now), name }, result: undefined };
  }

  /** Validates and plans a send of one or more messages; entries fail one by one, as in SendMessageBatch. */
  decideSend(queueName: string, inputs: readonly SendInput[], ctx: DecideContext): Decision<SendOutcome[]> {
    const state = this.queue(queueName);
    const { config } = state.record;
    if (state.record.movedTo !== undefined) {
      throw new ConveyorError('QueueMoved', `Queue ${queueName} is moving to cluster ${state.record.movedTo}; send there.`, { queue: queueName, cluster: state.record.movedTo });
    }
    const ts = this.timestamp(ctx.now);
    const messages: NewMessage[] = [];
    const outcomes: SendOutcome[] = [];
    const batchDedup = new Map<string, SendOutcome>();
    let seq = state.record.nextSeq;
    let sequenceNumber = state.record.nextSequenceNumber;
    for (const input of inputs) {
      try {
        const planned = this.planMessage(state, input, ts);
        if (planned.dedupKey !== undefined) {
          const earlier = batchDedup.get(planned.dedupKey) ?? this.dedupHit(state, planned.dedupKey, ts);
          if (earlier) {
            outcomes.push({ ...earlier, md5OfBody: planned.md5OfBody, md5OfAttributes: planned.md5OfAttributes, duplicate: true } as SendOutcome);
            continue;
          }
        }
        // Filled in place: V8 takes a slow path (~1 µs) to add properties to a spread copy.
        const message = planned;
        message.seq = seq++;
        message.id = ctx.newMessageId();
        if (config.fifo) message.sequenceNumber = sequenceNumberText(sequenceNumber++);
        messages.push(message);
        const outcome: SendOutcome = {
          ok: true,
          messageId: message.id,
          md5OfBody: message.md5OfBody,
          md5OfAttributes: message.md5OfAttributes,
          sequenceNumber: message.sequenceNumber,
          duplicate: false,
        };
        if (message.dedupKey !== undefined) batchDedup.set(message.dedupKey, outcome);
        outcomes.push(outcome);
      } catch (error) {
        if (!(error instanceof ConveyorError)) throw error;
        outcomes.push({ ok: false, error });
      }
    }
    const record: QueueLogRecord | undefined = messages.length > 0 ? { type: 'send', ts, queue: queueName, messages } : undefined;
    return { record, result: outcomes };
  }

  private dedupHit(state: QueueState, key: string, ts: number): SendOutcome | undefined {
    const entry = state.dedup.get(key);
    if (!entry || entry.expiresAt <= ts) return undefined;
    return { ok: true, messageId: entry.messageId, md5OfBody: '', sequenceNumber: entry.sequenceNumber, duplicate: true };
  }

  /** A new message as the input asks for it; `seq` and `id` are placeholders the caller fills. */
  private planMessage(state: QueueState, input: SendInput, _ts: number): NewMessage {
    const { config } = state.record;
    const body = checkMessageBody(input.body);
    const attributeBytes = checkMessageAttributes(input.attributes);
    checkMessageSize(Buffer.byteLength(body, 'utf8') + attributeBytes, config.maxMessageBytes);
    let delayMs = config.delayMs;
    if (input.delaySeconds !== undefined) {
      const delay = checkDelaySeconds(input.delaySeconds);
      if (config.fifo && delay > 0) {
        throw invalidParameter('DelaySeconds', delay, 'The request include parameter that is not valid for this queue type.');
      }
      if (!config.fifo) delayMs = delay * 1000;
    }
    const planned: NewMessage = {
      seq: 0,
      id: '',
      body,
      md5OfBody: md5OfBody(body),
      delayMs,
    };
    if (input.attributes && Object.keys(input.attributes).length > 0) {
      planned.attributes = input.attributes;
      planned.md5OfAttributes = md5OfMessageAttributes(input.attributes);
    }
    if (input.groupId !== undefined) planned.groupId = checkMessageGroupId(input.groupId);
    if (input.senderId !== undefined) planned.senderId = input.senderId;
    if (input.traceHeader !== undefined) planned.traceHeader = input.traceHeader;
    if (config.fifo) {
      if (planned.groupId === undefined) throw missingParameter('MessageGroupId');
      let dedupId: string;
      if (input.dedupId !== undefined) dedupId = checkDeduplicationId(input.dedupId);
      else if (config.contentBasedDeduplication) dedupId = hexDigest('sha256', body);
      else {
        throw new ConveyorError(
          'InvalidParameterValue',
          'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
          { parameter: 'MessageDeduplicationId' },
        );
      }
      planned.dedupId = dedupId;
      if (input.redriveKey !== undefined) planned.dedupKey = REDRIVE_KEY_PREFIX + input.redriveKey;
      else planned.dedupKey = config.deduplicationScope === 'messageGroup' ? planned.groupId + DEDUP_SCOPE_SEPARATOR + dedupId : dedupId;
    } else if (input.dedupId !== undefined) {
      throw invalidParameter('MessageDeduplicationId', input.dedupId, 'The request includes a parameter that is not valid for this queue type.');
    }
    return planned;
  }

  /** Chooses messages to deliver (and ones to move to the dead-letter queue) and mints their handles. */
  decideReceive(queueName: string, input: ReceiveInput, ctx: DecideContext): Decision<{ seqs: number[] }> {
    const state = this.queue(queueName);
    const { config } = state.record;
    const ts = this.timestamp(ctx.now);
    const limit = input.maxMessagesLimit ?? LIMITS.maxReceiveMessages;
    const max = input.maxMessages === undefined ? 1 : limit === LIMITS.maxReceiveMessages ? checkMaxNumberOfMessages(input.maxMessages) : checkIntegerInRange('MaxNumberOfMessages', input.maxMessages, 1, limit);
    const visibilityMs = input.visibilityTimeoutSeconds === undefined ? config.visibilityTimeoutMs : checkVisibilityTimeout(input.visibilityTimeoutSeconds) * 1000;
    state.advance(ts);
    const room = this.options.maxInFlight - state.inflightCount;
    if (room <= 0) {
      if (!config.fifo && !input.longPoll) {
        throw new ConveyorError('OverLimit', `Too many messages in flight on queue ${queueName} (limit ${this.options.maxInFlight}).`, { queue: queueName });
      }
      return { result: { seqs: [] } };
    }
    const redrive = config.redrive;
    const dlq = redrive ? this.byName.get(redrive.deadLetterQueue) : undefined;
    const canMove = dlq !== undefined && dlq !== state && dlq.fifo === config.fifo;
    const classify = (meta: MessageMeta): Candidate => {
      if (meta.enqueuedAt + config.retentionMs <= ts) return 'skip';
      if (canMove && meta.receiveCount >= redrive!.maxReceiveCount) return 'move';
      return 'deliver';
    };
    const { deliver, move } = state.pick(Math.min(max, room), ts, classify);
    if (deliver.length === 0 && move.length === 0) return { result: { seqs: [] } };
    const received = deliver.map((seq) => ({ seq, nonce: Math.floor(ctx.random() * MAX_NONCE) }));
    return { record: { type: 'receive', ts, queue: queueName, visibilityMs, received, moved: move }, result: { seqs: deliver } };
  }

  /** Checks receipt handles for DeleteMessage(Batch); valid ones become one delete record. */
  decideDelete(queueName: string, handles: readonly string[], now: number): Decision<HandleOutcome[]> {
    const state = this.queue(queueName);
    const ts = this.timestamp(now);
    state.advance(ts);
    // A Set, not seqs.includes: batches reach 1,000 handles.
    const seqs = new Set<number>();
    const outcomes = handles.map((text): HandleOutcome => {
      const handle = decodeReceiptHandle(text);
      if (!handle || handle.queueId !== state.record.queueId) return { ok: false, error: invalidHandle(text) };
      const meta = state.messages.get(handle.seq);
      // A handle of a message that is gone, or was received again since: SQS answers success and may not delete.
      if (!meta) return { ok: true };
      if (meta.nonce !== handle.nonce) return state.fifo ? { ok: false, error: expiredHandle(text) } : { ok: true };
      if (state.fifo && meta.visibleAt <= ts) return { ok: false, error: expiredHandle(text) };
      seqs.add(handle.seq);
      return { ok: true };
    });
    const record: QueueLogRecord | undefined = seqs.size > 0 ? { type: 'delete', ts, queue: queueName, seqs: [...seqs] } : undefined;
    return { record, result: outcomes };
  }

  decideChangeVisibility(queueName: string, changes: readonly VisibilityChange[], now: number): Decision<HandleOutcome[]> {
    const state = this.queue(queueName);
    const ts = this.timestamp(now);
    state.advance(ts);
    // By sequence: a later change of a message replaces its earlier one (and goes last).
    const planned = new Map<number, { seq: number; visibleAt: number }>();
    const outcomes = changes.map((change): HandleOutcome => {
      const text = change.receiptHandle;
      try {
        const timeout = checkVisibilityTimeout(change.visibilityTimeoutSeconds);
        const handle = decodeReceiptHandle(text);
        if (!handle || handle.queueId !== state.record.queueId) return { ok: false, error: invalidHandle(text) };
        const meta = state.messages.get(handle.seq);
        if (!meta || meta.nonce !== handle.nonce) {
          return { ok: false, error: invalidParameter('ReceiptHandle', text, 'Message does not exist or is not available for visibility timeout change.') };
        }
        if (state.fifo && meta.visibleAt <= ts) return { ok: false, error: expiredHandle(text) };
        const visibleAt = ts + timeout * 1000;
        if (visibleAt - meta.receivedAt > LIMITS.maxVisibilityTimeoutSeconds * 1000) {
          return { ok: false, error: invalidParameter('VisibilityTimeout', timeout, 'Total VisibilityTimeout for the message is beyond the limit [43200 seconds]') };
        }
        planned.delete(handle.seq);
        planned.set(handle.seq, { seq: handle.seq, visibleAt });
        return { ok: true };
      } catch (error) {
        if (error instanceof ConveyorError) return { ok: false, error };
        throw error;
      }
    });
    const record: QueueLogRecord | undefined = planned.size > 0 ? { type: 'changeVisibility', ts, queue: queueName, changes: [...planned.values()] } : undefined;
    return { record, result: outcomes };
  }

  decidePurge(queueName: string, now: number): Decision<void> {
    const state = this.queue(queueName);
    const ts = this.timestamp(now);
    if (state.record.lastPurgeAt > 0 && ts - state.record.lastPurgeAt < this.options.purgeIntervalMs) {
      throw new ConveyorError('PurgeQueueInProgress', `Only one PurgeQueue operation on ${queueName} is allowed every ${this.options.purgeIntervalMs / 1000} seconds.`, { queue: queueName });
    }
    return { record: { type: 'purge', ts, queue: queueName }, result: undefined };
  }

  /** A record that drops messages past retention and dedup entries past their window, if there are any. */
  decideExpire(now: number): QueueLogRecord | undefined {
    const ts = this.timestamp(now);
    for (const state of this.byName.values()) {
      const oldest = state.messages.values().next();
      if (!oldest.done && oldest.value.enqueuedAt + state.record.config.retentionMs <= ts) return { type: 'expire', ts };
      const dedup = state.dedup.values().next();
      if (!dedup.done && dedup.value.expiresAt <= ts) return { type: 'expire', ts };
    }
    return undefined;
  }

  /** A receipt handle for a message's latest receive. */
  receiptHandle(queueName: string, seq: number): string {
    const state = this.queue(queueName);
    const meta = state.messages.get(seq)!;
    return encodeReceiptHandle({ queueId: state.record.queueId, seq, nonce: meta.nonce });
  }

  // ---------------------------------------------------------------- apply (every replica)

  /**
   * Applies one record and returns what storage must persist. Deterministic in (state, record,
   * logOffset). With `logOffset` (replicas), sent bodies stay in the log record at that offset
   * instead of getting keys of their own.
   */
  apply(record: QueueLogRecord, logOffset?: number): StoreMutation[] {
    this.lastTs = Math.max(this.lastTs, record.ts);
    const out: StoreMutation[] = [];
    switch (record.type) {
      case 'createQueue': {
        const queue = structuredClone(record.queue);
        const state = new QueueState(queue);
        this.byName.set(queue.name, state);
        this.nextQueueId = Math.max(this.nextQueueId, queue.queueId + 1);
        out.push({ op: 'putQueue', queue });
        break;
      }
      case 'updateQueue': {
        const state = this.queue(record.name);
        state.record.config = structuredClone(record.config);
        state.record.lastModifiedAt = record.ts;
        out.push({ op: 'putQueue', queue: state.record });
        break;
      }
      case 'sealQueue': {
        const state = this.queue(record.name);
        state.record.movedTo = record.movedTo;
        out.push({ op: 'putQueue', queue: state.record });
        break;
      }
      case 'deleteQueue': {
        const state = this.queue(record.name);
        for (const meta of [...state.messages.values()]) this.dropMessage(state, meta.seq, out);
        for (const key of state.dedup.keys()) out.push({ op: 'delDedup', queueId: state.record.queueId, key });
        this.byName.delete(record.name);
        out.push({ op: 'putQueueIdFloor', nextQueueId: this.nextQueueId });
        out.push({ op: 'delQueue', queueId: state.record.queueId });
        break;
      }
      case 'send':
        this.applySend(record.queue, record.ts, record.messages, out, logOffset);
        break;
      case 'receive':
        this.applyReceive(record, out);
        break;
      case 'delete': {
        const state = this.queue(record.queue);
        state.advance(record.ts);
        for (const seq of record.seqs) this.dropMessage(state, seq, out);
        break;
      }
      case 'changeVisibility': {
        const state = this.queue(record.queue);
        state.advance(record.ts);
        for (const { seq, visibleAt } of record.changes) {
          const meta = state.messages.get(seq);
          if (!meta) continue;
          state.setVisibleAt(meta, visibleAt, record.ts);
          out.push({ op: 'putMeta', queueId: state.record.queueId, meta });
        }
        break;
      }
      case 'purge': {
        const state = this.queue(record.queue);
        for (const meta of [...state.messages.values()]) this.dropMessage(state, meta.seq, out);
        state.record.lastPurgeAt = record.ts;
        out.push({ op: 'putQueue', queue: state.record });
        break;
      }
      case 'expire':
        for (const state of this.byName.values()) this.applyExpire(state, record.ts, out);
        break;
    }
    return out;
  }

  private applySend(queueName: string, ts: number, messages: readonly NewMessage[], out: StoreMutation[], logOffset: number | undefined): void {
    const state = this.queue(queueName);
    const queueId = state.record.queueId;
    state.advance(ts);
    for (const m of messages) {
      const meta: MessageMeta = {
        seq: m.seq,
        id: m.id,
        sentAt: ts,
        enqueuedAt: ts,
        visibleAt: ts + m.delayMs,
        receiveCount: 0,
        firstReceiveAt: 0,
        receivedAt: 0,
        nonce: 0,
        md5OfBody: m.md5OfBody,
      };
      if (m.md5OfAttributes !== undefined) meta.md5OfAttributes = m.md5OfAttributes;
      if (m.groupId !== undefined) meta.groupId = m.groupId;
      if (m.dedupId !== undefined) meta.dedupId = m.dedupId;
      if (m.sequenceNumber !== undefined) meta.sequenceNumber = m.sequenceNumber;
      if (m.senderId !== undefined) meta.senderId = m.senderId;
      if (m.traceHeader !== undefined) meta.traceHeader = m.traceHeader;
      if (logOffset !== undefined) meta.logRef = logOffset;
      state.add(meta, ts);
      state.record.nextSeq = Math.max(state.record.nextSeq, m.seq + 1);
      if (m.sequenceNumber !== undefined) state.record.nextSequenceNumber = Math.max(state.record.nextSequenceNumber, Number(m.sequenceNumber) + 1);
      out.push({ op: 'putMeta', queueId, meta, created: true });
      if (logOffset === undefined) out.push({ op: 'putBody', messageId: m.id, body: m.attributes ? { body: m.body, attributes: m.attributes } : { body: m.body } });
      if (m.dedupKey !== undefined) {
        const entry: DedupEntry = { messageId: m.id, expiresAt: ts + LIMITS.dedupWindowMs };
        if (m.sequenceNumber !== undefined) entry.sequenceNumber = m.sequenceNumber;
        state.dedup.delete(m.dedupKey); // re-insert at the end so Map order stays expiry order
        state.dedup.set(m.dedupKey, entry);
        out.push({ op: 'putDedup', queueId, key: m.dedupKey, entry });
      }
    }
    out.push({ op: 'putQueue', queue: state.record });
  }

  private applyReceive(record: Extract<QueueLogRecord, { type: 'receive' }>, out: StoreMutation[]): void {
    const state = this.queue(record.queue);
    const queueId = state.record.queueId;
    state.advance(record.ts);
    for (const { seq, nonce } of record.received) {
      const meta = state.messages.get(seq);
      if (!meta) continue;
      meta.receiveCount += 1;
      if (meta.firstReceiveAt === 0) meta.firstReceiveAt = record.ts;
      meta.receivedAt = record.ts;
      meta.nonce = nonce;
      state.markReceived(meta, record.ts + record.visibilityMs, record.ts);
      out.push({ op: 'putMeta', queueId, meta });
    }
    if (record.moved.length > 0) {
      const dlq = this.queue(state.record.config.redrive!.deadLetterQueue);
      dlq.advance(record.ts);
      for (const seq of record.moved) {
        const meta = state.remove(seq);
        if (!meta) continue;
        out.push({ op: 'delMeta', queueId, seq });
        const moved: MessageMeta = {
          ...meta,
          seq: dlq.record.nextSeq++,
          enqueuedAt: record.ts,
          visibleAt: record.ts,
          receiveCount: 0,
          firstReceiveAt: 0,
          receivedAt: 0,
          nonce: 0,
          dlqSourceArn: state.record.arn,
        };
        if (dlq.fifo) moved.sequenceNumber = sequenceNumberText(dlq.record.nextSequenceNumber++);
        dlq.add(moved, record.ts);
        out.push({ op: 'putMeta', queueId: dlq.record.queueId, meta: moved, created: true });
      }
      out.push({ op: 'putQueue', queue: dlq.record });
    }
  }

  private applyExpire(state: QueueState, ts: number, out: StoreMutation[]): void {
    state.advance(ts);
    const retentionMs = state.record.config.retentionMs;
    for (const meta of state.messages.values()) {
      if (meta.enqueuedAt + retentionMs > ts) break;
      this.dropMessage(state, meta.seq, out);
    }
    for (const [key, entry] of state.dedup) {
      if (entry.expiresAt > ts) break;
      state.dedup.delete(key);
      out.push({ op: 'delDedup', queueId: state.record.queueId, key });
    }
  }

  private dropMessage(state: QueueState, seq: number, out: StoreMutation[]): void {
    const meta = state.remove(seq);
    if (!meta) return;
    out.push({ op: 'delMeta', queueId: state.record.queueId, seq });
    out.push(meta.logRef === undefined ? { op: 'delBody', messageId: meta.id } : { op: 'delBody', messageId: meta.id, logRef: meta.logRef });
  }
}
