/**
 * A queue handle: sends, receives, deletes and visibility changes on one queue, and its
 * administration. Sends, deletes and visibility changes are gathered into batches of up to 1,000
 * entries; each caller's promise settles with its own entry's result or typed error. Entries that
 * fail with a retryable code are resent (same idempotency key) until the retry deadline.
 */
import { randomUUID } from 'node:crypto';
import { Batcher, type EntryOutcome } from './batching/batcher.ts';
import { Consumer, type ConsumeOptions, type MessageHandler } from './consumer/consumer.ts';
import { prepareSend, type OutgoingMessage, type ReceivedMessage, type ReceiveOptions, type SendResult } from './messages.ts';
import { changedAttributes, fromWireAttributes, type QueueAttributes, type QueueDescription } from './queue-attributes.ts';
import { MAX_NATIVE_BATCH, type ResolvedOptions } from './options.ts';
import { isRetryable, nextRetryDelayMs } from './resilience/backoff.ts';
import { sleep } from './timers.ts';
import type { HttpTransport } from './transport/http-transport.ts';
import {
  checkIntegerInRange, checkReceiveRequestAttemptId, checkVisibilityTimeout, checkWaitTimeSeconds, ConveyorError, invalidParameter, isErrorCode,
  isFifoName, LIMITS, type NativeBatchFailure, type NativeSendEntry,
} from './wire/index.ts';

/** Batch entry ids "0"…"999", shared by every batch instead of made per entry. */
const ENTRY_IDS: readonly string[] = Object.freeze(Array.from({ length: MAX_NATIVE_BATCH }, (_, i) => String(i)));

interface AckEntry {
  id: string;
  receiptHandle: string;
}
interface VisibilityEntry extends AckEntry {
  visibilityTimeoutSeconds: number;
}

/** What every queue handle shares with its client. */
export interface QueueContext {
  transport: HttpTransport;
  options: ResolvedOptions;
}

/** A queue's handle, from `conveyor.queue(name)` or `conveyor.createQueue(name)`. */
export class Queue {
  /** Whether this is a FIFO queue (its name ends in `.fifo`). */
  readonly fifo: boolean;
  readonly #sends: Batcher<NativeSendEntry, SendResult>;
  readonly #deletes: Batcher<AckEntry, void>;
  readonly #visibility: Batcher<VisibilityEntry, void>;
  readonly #consumers = new Set<Consumer>();

  /** Use `conveyor.queue(name)`. */
  constructor(
    /** The queue's name. */
    readonly name: string,
    private readonly context: QueueContext,
  ) {
    this.fifo = isFifoName(name);
    const { options } = context;
    // FIFO: one send batch at a time, so sends reach the queue in the order they were made
    // (two batches in flight could be applied, or retried, out of order).
    const sendBatching = this.fifo ? { ...options.sendBatching, maxInFlight: 1 } : options.sendBatching;
    this.#sends = new Batcher(sendBatching, (entries) => this.#executeSends(entries), options.timers);
    this.#deletes = new Batcher(options.ackBatching, (entries) => this.#executeAcks('DeleteMessageBatch', entries), options.timers);
    this.#visibility = new Batcher({ ...options.ackBatching, maxBytes: Number.MAX_SAFE_INTEGER }, (entries) => this.#executeAcks('ChangeMessageVisibilityBatch', entries), options.timers);
  }

  /** Sends one message (batched with others sent around the same time); resolves with its id and sequence number. */
  send(message: string | OutgoingMessage): Promise<SendResult> {
    let prepared;
    try {
      prepared = prepareSend(message, this.fifo);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sends.add(prepared.entry, prepared.bytes);
  }

  /**
   * Sends several messages; resolves with one outcome per message, in order (each its own result
   * or error, so one bad message does not fail the others).
   */
  sendMany(messages: ReadonlyArray<string | OutgoingMessage>): Promise<Array<PromiseSettledResult<SendResult>>> {
    return Promise.allSettled(messages.map((m) => this.send(m)));
  }

  /** Receives up to `max` messages, long-polling up to `waitSeconds` for the first. */
  async receive(options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const request = {
      queue: this.name,
      maxMessages: checkIntegerInRange('MaxNumberOfMessages', options.max ?? LIMITS.maxReceiveMessages, 1, MAX_NATIVE_BATCH, `Must be between 1 and ${MAX_NATIVE_BATCH}, if provided.`),
      ...(options.waitSeconds !== undefined && { waitTimeSeconds: checkWaitTimeSeconds(options.waitSeconds) }),
      ...(options.visibilityTimeout !== undefined && { visibilityTimeoutSeconds: checkVisibilityTimeout(options.visibilityTimeout) }),
      ...(options.attemptId !== undefined && { attemptId: checkReceiveRequestAttemptId(options.attemptId) }),
    };
    const wait = options.waitSeconds ?? LIMITS.maxWaitTimeSeconds; // unknown queue default: allow the longest
    const { messages } = await this.context.transport.call('ReceiveMessage', request, { signal: options.signal, extraTimeoutMs: wait * 1000 });
    return messages;
  }

  /** Deletes a received message (batched); rejects with the server's error for this handle. */
  delete(message: ReceivedMessage | string): Promise<void> {
    const receiptHandle = typeof message === 'string' ? message : message?.receiptHandle;
    if (typeof receiptHandle !== 'string' || receiptHandle.length === 0) return Promise.reject(invalidParameter('ReceiptHandle', receiptHandle, 'Must be a receipt handle.'));
    return this.#deletes.add({ id: '', receiptHandle }, receiptHandle.length + 16);
  }

  /** Makes a received message invisible for `seconds` more from now (0 makes it visible at once); batched. */
  changeVisibility(message: ReceivedMessage | string, seconds: number): Promise<void> {
    const receiptHandle = typeof message === 'string' ? message : message?.receiptHandle;
    if (typeof receiptHandle !== 'string' || receiptHandle.length === 0) return Promise.reject(invalidParameter('ReceiptHandle', receiptHandle, 'Must be a receipt handle.'));
    let visibilityTimeoutSeconds: number;
    try {
      visibilityTimeoutSeconds = checkVisibilityTimeout(seconds);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#visibility.add({ id: '', receiptHandle, visibilityTimeoutSeconds }, receiptHandle.length + 24);
  }

  /**
   * Runs `handler` on every message until stopped: long polls into a prefetch buffer, runs handlers
   * in parallel, deletes on success, extends visibility while a handler runs (see `ConsumeOptions`).
   */
  consume(handler: MessageHandler, options: ConsumeOptions = {}): Consumer {
    const consumer = new Consumer(this, handler, options, this.context.options.timers, this.context.options.random);
    this.#consumers.add(consumer);
    void consumer.done.finally(() => this.#consumers.delete(consumer));
    return consumer;
  }

  /** Resolves when every send, delete and visibility change made so far has been answered. */
  async flush(): Promise<void> {
    await Promise.all([this.#sends.flush(), this.#deletes.flush(), this.#visibility.flush()]);
  }

  /** Stops this handle's consumers and flushes; later calls are refused with ClientClosed. */
  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((c) => c.stop()));
    await Promise.all([this.#sends.close(), this.#deletes.close(), this.#visibility.close()]);
  }

  /** The queue's ARN, typed attributes and approximate counts. */
  async getAttributes(): Promise<QueueDescription> {
    const info = await this.context.transport.call('GetQueue', { queue: this.name });
    return {
      name: info.name,
      arn: info.arn,
      attributes: fromWireAttributes(info.attributes),
      rawAttributes: info.attributes,
      counts: info.counts,
      createdAt: info.createdAt,
      lastModifiedAt: info.lastModifiedAt,
    };
  }

  /** Changes the given attributes (checked locally first). */
  async setAttributes(attributes: QueueAttributes): Promise<void> {
    await this.context.transport.call('SetQueueAttributes', { queue: this.name, attributes: changedAttributes(this.name, attributes) });
  }

  /** Deletes every message in the queue. */
  async purge(): Promise<void> {
    await this.context.transport.call('PurgeQueue', { queue: this.name });
  }

  /** Deletes the queue. */
  async deleteQueue(): Promise<void> {
    await this.context.transport.call('DeleteQueue', { queue: this.name });
  }

  /** One SendMessageBatch per round; entries failing with a retryable code go again, keeping their keys. */
  async #executeSends(entries: readonly NativeSendEntry[]): Promise<Array<EntryOutcome<SendResult>>> {
    if (!this.fifo) {
      // One random prefix per batch makes every entry's idempotency key unique and stable across retries.
      const prefix = `${randomUUID()}.`;
      entries.forEach((e, i) => (e.idempotencyKey ??= prefix + ENTRY_IDS[i]));
    }
    return this.#rounds(
      entries,
      async (batch) => {
        const meta: { requestId?: string } = {};
        const res = await this.context.transport.call('SendMessageBatch', { queue: this.name, entries: batch, maxEntries: MAX_NATIVE_BATCH }, { meta });
        return { requestId: meta.requestId, successful: res.successful, failed: res.failed };
      },
      (s) => ({ messageId: s.messageId, sequenceNumber: s.sequenceNumber, md5OfBody: s.md5OfBody, duplicate: s.duplicate === true }),
    );
  }

  #executeAcks(action: 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch', entries: readonly AckEntry[] | readonly VisibilityEntry[]): Promise<Array<EntryOutcome<void>>> {
    return this.#rounds(
      entries,
      async (batch) => {
        const meta: { requestId?: string } = {};
        const res = await this.context.transport.call(action, { queue: this.name, entries: batch as VisibilityEntry[], maxEntries: MAX_NATIVE_BATCH }, { meta });
        return { requestId: meta.requestId, successful: res.successful, failed: res.failed };
      },
      () => undefined,
    );
  }

  /** Sends `entries` (ids assigned by position), then resends the retryable failures until the deadline. */
  async #rounds<E extends { id: string }, S extends { id: string }, O>(
    entries: readonly E[],
    call: (batch: E[]) => Promise<{ requestId: string | undefined; successful: readonly S[]; failed: readonly NativeBatchFailure[] }>,
    valueOf: (success: S) => O,
  ): Promise<Array<EntryOutcome<O>>> {
    const { timers, retry, random } = this.context.options;
    const deadline = timers.now() + retry.totalDeadlineMs;
    const outcomes: Array<EntryOutcome<O>> = new Array(entries.length);
    let todo = entries.map((_, i) => i);
    for (let round = 0; todo.length > 0; round++) {
      const batch = todo.map((index, position) => {
        const entry = entries[index]!;
        entry.id = ENTRY_IDS[position]!;
        return entry;
      });
      let answer;
      try {
        answer = await call(batch);
      } catch (error) {
        if (round === 0) throw error; // the whole batch failed
        // A resend failed as a whole: only its entries fail, the ones answered before stay answered.
        const failure = error instanceof Error ? error : new ConveyorError('InternalFailure', String(error));
        for (const index of todo) outcomes[index] = { ok: false, error: failure };
        break;
      }
      const { requestId, successful, failed } = answer;
      for (const s of successful) {
        const index = todo[Number(s.id)];
        if (index !== undefined) outcomes[index] = { ok: true, value: valueOf(s) };
      }
      const again: number[] = [];
      for (const f of failed) {
        const index = todo[Number(f.id)];
        if (index === undefined) continue;
        const error = new ConveyorError(isErrorCode(f.code) ? f.code : 'InternalFailure', f.message, { queue: this.name, senderFault: f.senderFault, requestId });
        outcomes[index] = { ok: false, error };
        if (isRetryable(error)) again.push(index);
      }
      if (again.length === 0) break;
      const delay = nextRetryDelayMs(round, timers.now(), deadline, retry, random);
      if (delay === undefined) break;
      await sleep(timers, delay);
      todo = again;
    }
    return outcomes;
  }
}
