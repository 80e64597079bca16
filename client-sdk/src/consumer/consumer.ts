/**
 * The consumer behind `queue.consume(handler)`: pollers long-poll into a prefetch buffer bounded
 * by the concurrency, a dispatcher starts handlers while fewer than `concurrency` run (for FIFO
 * queues never two of one message group at once, in the order received), successes are deleted in
 * batches, every held message's visibility is extended while it waits or runs (heartbeat), and a
 * failure leaves the message for redelivery or sets a backoff visibility. `stop()` (or the
 * signal) ends polling, releases buffered messages, waits for running handlers and flushes.
 */
import { setMaxListeners } from 'node:events';
import { backoffDelayMs } from '../resilience/backoff.ts';
import { sleep, type TimerHandle, type Timers } from '../timers.ts';
import type { ReceivedMessage } from '../messages.ts';
import { checkIntegerInRange, checkVisibilityTimeout, checkWaitTimeSeconds, ConveyorError, LIMITS } from '../wire/index.ts';

/** What a consumer needs of its queue (a `Queue` handle). */
export interface ConsumerQueue {
  /** The queue's name. */
  readonly name: string;
  /** Whether its messages come in groups that must be handled in order. */
  readonly fifo: boolean;
  /** One (long-polling) receive. */
  receive(options: { max: number; waitSeconds: number; visibilityTimeout: number; signal: AbortSignal }): Promise<ReceivedMessage[]>;
  /** Deletes a handled message. */
  delete(message: ReceivedMessage): Promise<void>;
  /** Sets a held message's remaining invisibility. */
  changeVisibility(message: ReceivedMessage, seconds: number): Promise<void>;
  /** Waits for pending deletes and visibility changes. */
  flush(): Promise<void>;
}

/** Runs for one message; resolving deletes it, throwing leaves it for redelivery. */
export type MessageHandler = (message: ReceivedMessage, context: HandlerContext) => Promise<void> | void;

/** Given to each handler call. */
export interface HandlerContext {
  /** Aborted when the consumer is stopped (the handler may finish early; it is still awaited). */
  signal: AbortSignal;
}

/** What `onError` gets of a message whose delete or visibility change failed. */
export interface MessageRef {
  messageId: string;
  receiptHandle: string;
}

/** Where a consumer error happened. */
export type ConsumerStage = 'receive' | 'handler' | 'delete' | 'visibility';

/** Options of `queue.consume(handler, options)`. */
export interface ConsumeOptions {
  /** Handlers running at once; also the prefetch buffer's size. Default 10. */
  concurrency?: number;
  /** Messages per receive (1–1,000). Default 10; larger receives cost the servers much less per message. */
  batchSize?: number;
  /** Receives in flight at once. Default: enough to fill the buffer, at most 8. */
  pollers?: number;
  /** Long-poll seconds per receive (1–20). Default 20. */
  waitSeconds?: number;
  /** Seconds a received message stays invisible; the heartbeat extends it by this much. Default 30. */
  visibilityTimeout?: number;
  /** Seconds between visibility extensions of a held message. Default: a third of the visibility timeout. */
  heartbeatSeconds?: number;
  /**
   * Seconds a failed message stays invisible before redelivery, given how many times it was received;
   * undefined (the default) leaves its current visibility to run out.
   */
  failureVisibility?: (receiveCount: number, error: unknown) => number | undefined;
  /** Stops the consumer when aborted. */
  signal?: AbortSignal;
  /**
   * Called for every error: a failed receive, handler, delete or visibility change. A failed
   * handler comes with its message; a failed delete or visibility change with the message's id
   * and receipt handle only, since the consumer keeps nothing more of a message once its handler
   * is done (waiting deletes would otherwise hold every body in memory).
   */
  onError?: (error: unknown, stage: ConsumerStage, message?: ReceivedMessage | MessageRef) => void;
  /** Called after a message was handled (its delete is on its way). */
  onProcessed?: (message: ReceivedMessage, durationMs: number) => void;
}

/** Counts since the consumer started. */
export interface ConsumerStats {
  /** Messages received so far. */
  received: number;
  /** Messages whose handler succeeded (their deletes are batched). */
  processed: number;
  /** Handler calls that threw. */
  failed: number;
  /** Handlers running now. */
  running: number;
  /** Messages received and waiting for a handler now. */
  buffered: number;
}

interface Held {
  message: ReceivedMessage;
  group: string | undefined;
  nextExtendAt: number;
  /** Where it is in the running list while its handler runs; -1 otherwise. */
  slot: number;
}

/**
 * The messages whose handlers are running, in slots of an array that is allocated once at the
 * consumer's concurrency and never resized; a finished message's slot is cleared and reused.
 * Under load every message passes through here, and a Set (or a growing and shrinking array)
 * keeps replacing its storage; each table it leaves behind, once old, still points at the
 * messages it held, and the young-generation collector takes those for live until the next full
 * collection, and promotes them meanwhile (over an in-memory transport, 70 MB for 50,000 messages
 * of 1 KiB against 12 MB with slots: unit/sdk-consumer-gc.test.ts).
 */
class RunningList {
  readonly #slots: Array<Held | undefined>;
  /** Free slot numbers, used as a stack. */
  readonly #free: number[];
  #size = 0;

  constructor(capacity: number) {
    this.#slots = Array.from({ length: capacity }, () => undefined);
    this.#free = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  }

  get size(): number {
    return this.#size;
  }

  add(held: Held): void {
    const slot = this.#free.pop();
    if (slot === undefined) throw new Error('more handlers running than the consumer allows');
    this.#slots[slot] = held;
    held.slot = slot;
    this.#size++;
  }

  delete(held: Held): void {
    if (held.slot < 0) return;
    this.#slots[held.slot] = undefined;
    this.#free.push(held.slot);
    held.slot = -1;
    this.#size--;
  }

  values(): Held[] {
    return this.#slots.filter((h): h is Held => h !== undefined);
  }
}

interface Settings {
  concurrency: number;
  batchSize: number;
  pollers: number;
  waitSeconds: number;
  visibilityTimeout: number;
  heartbeatMs: number;
}

function settingsOf(options: ConsumeOptions): Settings {
  const concurrency = checkIntegerInRange('concurrency', options.concurrency ?? 10, 1, 100_000);
  const batchSize = checkIntegerInRange('batchSize', options.batchSize ?? LIMITS.maxReceiveMessages, 1, 1_000);
  const visibilityTimeout = checkVisibilityTimeout(options.visibilityTimeout ?? 30);
  if (visibilityTimeout < 1) throw new ConveyorError('InvalidParameterValue', 'A consumer needs a visibility timeout of at least 1 second.', { parameter: 'visibilityTimeout' });
  const heartbeatSeconds = options.heartbeatSeconds ?? visibilityTimeout / 3;
  if (typeof heartbeatSeconds !== 'number' || !(heartbeatSeconds > 0) || heartbeatSeconds >= visibilityTimeout) {
    throw new ConveyorError('InvalidParameterValue', 'heartbeatSeconds must be above 0 and below the visibility timeout.', { parameter: 'heartbeatSeconds' });
  }
  return {
    concurrency,
    batchSize,
    pollers: checkIntegerInRange('pollers', options.pollers ?? Math.min(8, Math.ceil(concurrency / batchSize)), 1, 64),
    waitSeconds: checkIntegerInRange('waitSeconds', checkWaitTimeSeconds(options.waitSeconds ?? LIMITS.maxWaitTimeSeconds), 1, LIMITS.maxWaitTimeSeconds),
    visibilityTimeout,
    heartbeatMs: heartbeatSeconds * 1000,
  };
}

/** A running consumer, from `queue.consume(handler, options)`. */
export class Consumer {
  /** Resolves when the consumer has stopped and everything it started has finished. */
  readonly done: Promise<void>;
  readonly #settings: Settings;
  readonly #buffer: Held[] = [];
  readonly #running: RunningList;
  readonly #runningGroups = new Set<string>();
  readonly #stopping = new AbortController();
  readonly #idle = new Set<() => void>();
  #requested = 0;
  #heartbeat: TimerHandle | undefined;
  #stats = { received: 0, processed: 0, failed: 0 };
  #stopped: Promise<void> | undefined;

  /** Use `queue.consume(handler, options)`. */
  constructor(
    private readonly queue: ConsumerQueue,
    private readonly handler: MessageHandler,
    private readonly options: ConsumeOptions,
    private readonly timers: Timers,
    private readonly random: () => number,
  ) {
    this.#settings = settingsOf(options);
    this.#running = new RunningList(this.#settings.concurrency);
    setMaxListeners(0, this.#stopping.signal); // every poll listens to it
    if (options.signal?.aborted) this.#stopping.abort();
    options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
    const pollers = Array.from({ length: this.#settings.pollers }, () => this.#poll());
    this.#scheduleHeartbeat();
    this.done = Promise.all(pollers).then(() => this.#drain());
  }

  /** Counts so far, and how many messages are buffered and running now. */
  get stats(): ConsumerStats {
    return { ...this.#stats, running: this.#running.size, buffered: this.#buffer.length };
  }

  /** Stops polling, releases buffered messages, waits for running handlers and their deletes. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping.abort(new ConveyorError('ClientClosed', 'The consumer was stopped.'));
      this.#wake();
      await this.done;
    })();
    return this.#stopped;
  }

  async #poll(): Promise<void> {
    const { concurrency, batchSize, waitSeconds, visibilityTimeout } = this.#settings;
    const signal = this.#stopping.signal;
    for (let failures = 0; !signal.aborted; ) {
      const room = concurrency - this.#buffer.length - this.#requested;
      if (room <= 0) {
        await new Promise<void>((resolve) => this.#idle.add(resolve));
        continue;
      }
      const max = Math.min(batchSize, room);
      this.#requested += max;
      try {
        // Held in a callback: a local of this async function would stay in its suspended frame
        // until the next receive answers, keeping the whole batch (bodies and all) alive that long.
        await this.queue.receive({ max, waitSeconds, visibilityTimeout, signal }).then((messages) => this.#hold(messages));
        failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        this.options.onError?.(error, 'receive');
        failures += 1;
        await sleep(this.timers, backoffDelayMs(failures, { baseDelayMs: 100, maxDelayMs: 5_000 }, this.random) + 50, signal).catch(() => undefined);
      } finally {
        this.#requested -= max;
      }
    }
  }

  #hold(messages: ReceivedMessage[]): void {
    const extendAt = this.timers.now() + this.#settings.heartbeatMs;
    for (const message of messages) {
      this.#buffer.push({ message, group: this.queue.fifo ? message.systemAttributes.MessageGroupId : undefined, nextExtendAt: extendAt, slot: -1 });
    }
    this.#stats.received += messages.length;
    if (this.#stopping.signal.aborted) this.#release(this.#buffer.splice(0));
    this.#dispatch();
  }

  /** Starts handlers for the oldest buffered messages whose group is free. */
  #dispatch(): void {
    for (let i = 0; i < this.#buffer.length && this.#running.size < this.#settings.concurrency; ) {
      const held = this.#buffer[i]!;
      if (held.group !== undefined && this.#runningGroups.has(held.group)) {
        i++;
        continue;
      }
      this.#buffer.splice(i, 1);
      void this.#run(held);
    }
    this.#wake();
  }

  async #run(held: Held): Promise<void> {
    this.#running.add(held);
    if (held.group !== undefined) this.#runningGroups.add(held.group);
    const started = this.timers.now();
    try {
      await this.handler(held.message, { signal: this.#stopping.signal });
      this.#stats.processed += 1;
      const { messageId, receiptHandle } = held.message;
      this.queue.delete(held.message).catch((error: unknown) => this.options.onError?.(error, 'delete', { messageId, receiptHandle }));
      this.options.onProcessed?.(held.message, this.timers.now() - started);
    } catch (error) {
      this.#stats.failed += 1;
      this.options.onError?.(error, 'handler', held.message);
      this.#afterFailure(held, error);
    } finally {
      this.#running.delete(held);
      if (held.group !== undefined) this.#runningGroups.delete(held.group);
      this.#dispatch();
    }
  }

  #afterFailure(held: Held, error: unknown): void {
    const receiveCount = Number(held.message.systemAttributes.ApproximateReceiveCount ?? 1);
    const seconds = this.options.failureVisibility?.(receiveCount, error);
    if (seconds !== undefined) this.#changeVisibility(held.message, seconds);
    // Later messages of a failed FIFO group must not overtake it: hand them back to the queue.
    if (held.group !== undefined) {
      const sameGroup = this.#buffer.filter((h) => h.group === held.group);
      for (const h of sameGroup) this.#buffer.splice(this.#buffer.indexOf(h), 1);
      this.#release(sameGroup);
    }
  }

  #release(held: Held[]): void {
    for (const h of held) this.#changeVisibility(h.message, 0);
  }

  #changeVisibility(message: ReceivedMessage, seconds: number): void {
    const { messageId, receiptHandle } = message;
    this.queue.changeVisibility(message, seconds).catch((error: unknown) => this.options.onError?.(error, 'visibility', { messageId, receiptHandle }));
  }

  /** Extends the visibility of every held message whose extension is due; re-arms itself. */
  #scheduleHeartbeat(): void {
    const tick = Math.min(1_000, this.#settings.heartbeatMs / 2);
    this.#heartbeat = this.timers.setTimeout(() => {
      const now = this.timers.now();
      for (const held of [...this.#buffer, ...this.#running.values()]) {
        if (held.nextExtendAt > now) continue;
        held.nextExtendAt = now + this.#settings.heartbeatMs;
        this.#changeVisibility(held.message, this.#settings.visibilityTimeout);
      }
      if (!this.#stopping.signal.aborted || this.#running.size > 0) this.#scheduleHeartbeat();
    }, tick);
  }

  #wake(): void {
    for (const resolve of this.#idle) resolve();
    this.#idle.clear();
  }

  /** After the pollers end: release the buffer, wait for running handlers, flush deletes. */
  async #drain(): Promise<void> {
    this.#release(this.#buffer.splice(0));
    while (this.#running.size > 0) {
      await new Promise<void>((resolve) => this.#idle.add(resolve));
    }
    if (this.#heartbeat !== undefined) this.timers.clearTimeout(this.#heartbeat);
    await this.queue.flush();
  }
}
