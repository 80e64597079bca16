/**
 * A ZooKeeper session that survives expiry: it reconnects with a new session (bounded retries with
 * backoff, for as long as it is open) and announces every fresh session with 'session', so its
 * users re-read and re-watch. It also keeps a lease: the time ZooKeeper last answered.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import zookeeper from 'node-zookeeper-client';
import { createZkClient, withTimeout, zkConnect, zkExists, type ZkClient } from './zk.ts';

export interface ZkSessionOptions {
  connectString: string;
  sessionTimeoutMs: number;
  /** How long without an answer from ZooKeeper before leaseValid() turns false. */
  leaseMs: number;
  /** Longest wait for one ZooKeeper call (default: the session timeout). */
  opTimeoutMs?: number;
  log: (message: string, extra?: Record<string, unknown>) => void;
}

export class ZkSession extends EventEmitter {
  private current: ZkClient | undefined;
  private generation = 0;
  private lastContact = Number.NEGATIVE_INFINITY;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ZkSessionOptions) {
    super();
  }

  get client(): ZkClient {
    if (!this.current) throw new Error('not connected to ZooKeeper');
    return this.current;
  }

  get opTimeoutMs(): number {
    return this.options.opTimeoutMs ?? this.options.sessionTimeoutMs;
  }

  leaseValid(): boolean {
    return performance.now() - this.lastContact < this.options.leaseMs;
  }

  /** Marks an answer from ZooKeeper on the current session. */
  touch(): void {
    this.lastContact = performance.now();
  }

  /** Connects, retrying until it works or the session is closed. */
  async start(): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.open();
        return;
      } catch (error) {
        this.options.log('zookeeper connection failed; retrying', { attempt, error: (error as Error).message });
        this.current?.close();
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
      }
    }
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    const client = createZkClient(this.options.connectString, this.options.sessionTimeoutMs);
    this.current = client;
    client.on('state', (state: zookeeper.State) => {
      if (generation !== this.generation) return;
      if (state === zookeeper.State.SYNC_CONNECTED) {
        this.touch();
        this.emit('reconnected');
      } else if (state === zookeeper.State.DISCONNECTED) {
        this.emit('disconnected');
      } else if (state === zookeeper.State.EXPIRED) {
        this.options.log('zookeeper session expired; opening a new one');
        this.lastContact = Number.NEGATIVE_INFINITY;
        client.close();
        this.emit('expired');
        if (!this.closed) void this.start();
      }
    });
    await zkConnect(client, this.options.sessionTimeoutMs * 2);
    this.touch();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (generation !== this.generation) return;
      withTimeout(zkExists(client, '/'), this.options.leaseMs, 'heartbeat').then(() => generation === this.generation && this.touch(), () => {});
    }, Math.max(50, Math.floor(this.options.leaseMs / 4)));
    this.heartbeat.unref();
    this.emit('session');
  }

  close(): void {
    this.closed = true;
    this.generation += 1;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.current?.close();
  }
}
