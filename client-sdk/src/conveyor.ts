/**
 * `new Conveyor(options)`: the client. It holds the transport (keep-alive pools to the frontends,
 * SigV4 signing, retries, circuit breakers) and hands out queue handles that batch their calls.
 */
import { Queue } from './queue.ts';
import { creationAttributes, type QueueAttributes } from './queue-attributes.ts';
import { resolveClientOptions, type ConveyorOptions, type ResolvedOptions } from './options.ts';
import type { BreakerState } from './resilience/circuit-breaker.ts';
import { HttpTransport } from './transport/http-transport.ts';
import { checkQueueName, ConveyorError } from './wire/index.ts';

/** The Conveyor client: one per process is enough (it pools connections and batches per queue). */
export class Conveyor {
  readonly #options: ResolvedOptions;
  readonly #transport: HttpTransport;
  readonly #queues = new Map<string, Queue>();
  #closed = false;

  /** A client of the frontends at `options.endpoint` (default http://127.0.0.1:9324). */
  constructor(options: ConveyorOptions) {
    this.#options = resolveClientOptions(options);
    this.#transport = new HttpTransport({ ...this.#options, onBreakerChange: this.#options.onBreakerChange });
  }

  /** The handle of queue `name` (one per name; no request is made). */
  queue(name: string): Queue {
    if (this.#closed) throw new ConveyorError('ClientClosed', 'The client is closed.');
    checkQueueName(name);
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, { transport: this.#transport, options: this.#options });
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Creates queue `name` (a `.fifo` name makes a FIFO queue) with typed attributes, checked locally
   * first; creating an existing queue with the same attributes succeeds. Returns its handle.
   */
  async createQueue(name: string, attributes: QueueAttributes = {}): Promise<Queue> {
    checkQueueName(name);
    await this.#transport.call('CreateQueue', { queue: name, attributes: creationAttributes(name, attributes) });
    return this.queue(name);
  }

  /** Names of the queues, optionally only those starting with `prefix`. */
  async listQueues(prefix?: string): Promise<string[]> {
    const { queues } = await this.#transport.call('ListQueues', prefix === undefined ? {} : { prefix });
    return queues;
  }

  /** Each endpoint's circuit breaker state (closed, open or half-open). */
  breakerStates(): Record<string, BreakerState> {
    return this.#transport.breakerStates();
  }

  /** How many attempts were retries since the client started. */
  get retries(): number {
    return this.#transport.retries;
  }

  /** Resolves when every batched call made so far, on every queue, has been answered. */
  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.flush()));
  }

  /** Stops consumers, waits for everything in flight, then closes the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    await this.#transport.close();
  }
}
