/**
 * A metadata service process for multi-process tests: metadata-service/src/main.ts run with tsx
 * from the repo root on a free port, against a ZooKeeper the test owns (usually the one its backend
 * clusters share, with the same zkRoot), its pino lines appended to a log file. It is ready once
 * GET /health answers 200 and, by default, says it is not stale (ZooKeeper answered). `call()` is
 * a small JSON client for its HTTP API with short timeouts. Every wait is bounded.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { nodeEnv } from './cluster.ts';
import { entryArgs } from '@conveyor/cluster';
import {
  appendLogMarker,
  describeExit,
  findFreePorts,
  killProcess,
  makeTempDir,
  pollUntil,
  PollFailure,
  readLogTail,
  removeTempDir,
  spawnTracked,
  terminateProcess,
  type TrackedProcess,
  type ZooKeeperServer,
} from './zookeeper.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const DEFAULTS = Object.freeze({
  entry: 'metadata-service/src/main.ts',
  sessionTimeoutMs: 2_000,
  startTimeoutMs: 30_000,
  callTimeoutMs: 15_000,
  healthTimeoutMs: 1_000,
  pollIntervalMs: 100,
  logTailLines: 30,
});

export interface MetadataServiceOptions {
  zookeeper: ZooKeeperServer;
  /** Passed as --zk-root; use the backend clusters' zkRoot so the service sees them. */
  zkRoot: string;
  /** Passed as --session-timeout-ms; default 2000. */
  sessionTimeoutMs?: number;
  /** Passed as --deleted-recently-ms when given. */
  deletedRecentlyMs?: number;
  /** Appended to the arguments. */
  extraArgs?: string[];
  /** How long start and restart wait until the service is ready; default 30 s. */
  startTimeoutMs?: number;
  /**
   * Ready means /health answers 200 *and* `stale: false` (ZooKeeper answered); default true. Set
   * false to start or restart it while ZooKeeper is unreachable.
   */
  waitForZooKeeper?: boolean;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** An answer from the service: the status and the parsed JSON body. */
export interface MetadataAnswer<T> {
  status: number;
  body: T;
}

/** The body of every error answer. */
export interface MetadataErrorBody {
  error: { code: string; message: string };
}

export interface MetadataServiceProcess {
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  readonly port: number;
  /** Pid of the most recently started process (it changes on restart). */
  readonly pid: number;
  readonly logFile: string;
  readonly running: boolean;
  /**
   * One JSON request; resolves with any HTTP status (the caller asserts it) and rejects only when
   * the service does not answer within timeoutMs (default 15 s) or the body is not JSON.
   */
  call<T = unknown>(method: HttpMethod, path: string, body?: unknown, timeoutMs?: number): Promise<MetadataAnswer<T>>;
  logTail(lines?: number): string;
  /** SIGKILL; resolves once the process has exited. restart() brings it back. */
  kill(): Promise<void>;
  /** Stops it if it runs (SIGTERM, SIGKILL after 5 s), starts it again on the same port, waits until ready. */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s), closes the HTTP agent and removes the log dir. Final and idempotent. */
  stop(): Promise<void>;
}

class LocalMetadataService implements MetadataServiceProcess {
  readonly port: number;
  readonly logFile: string;
  readonly #rootDir: string;
  readonly #args: string[];
  readonly #startTimeoutMs: number;
  readonly #waitForZooKeeper: boolean;
  readonly #agent = new Agent({ connect: { timeout: DEFAULTS.healthTimeoutMs }, keepAliveTimeout: 2_000 });
  #proc: TrackedProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(port: number, rootDir: string, args: string[], startTimeoutMs: number, waitForZooKeeper: boolean) {
    this.port = port;
    this.#rootDir = rootDir;
    this.logFile = join(rootDir, 'metadata.log');
    this.#args = args;
    this.#startTimeoutMs = startTimeoutMs;
    this.#waitForZooKeeper = waitForZooKeeper;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get pid(): number {
    return this.#proc?.pid ?? -1;
  }
  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitInfo === undefined;
  }

  logTail(lines: number = DEFAULTS.logTailLines): string {
    return readLogTail(this.logFile, lines);
  }

  #describe(): string {
    if (!this.#proc) return 'not started';
    return this.#proc.exitInfo ? `exited (${describeExit(this.#proc.exitInfo)})` : `running (pid ${this.#proc.pid})`;
  }

  async call<T = unknown>(method: HttpMethod, path: string, body?: unknown, timeoutMs: number = DEFAULTS.callTimeoutMs): Promise<MetadataAnswer<T>> {
    const res = await request(`${this.url}${path}`, {
      method,
      dispatcher: this.#agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    try {
      return { status: res.statusCode, body: JSON.parse(text) as T };
    } catch {
      throw new Error(`${method} ${path} answered ${res.statusCode} with a body that is not JSON: ${text.slice(0, 300)}`);
    }
  }

  async start(): Promise<void> {
    if (this.#stopping) throw new Error(`metadata service ${this.url} was stopped; start a new one`);
    if (this.running) throw new Error(`metadata service ${this.url} is already running (pid ${this.pid})`);
    const args = [...(await entryArgs(DEFAULTS.entry)), ...this.#args];
    appendLogMarker(this.logFile, `starting the metadata service: node ${args.join(' ')}`);
    const proc = await spawnTracked(process.execPath, args, { cwd: REPO_ROOT, env: nodeEnv(), logFile: this.logFile });
    this.#proc = proc;
    await pollUntil(
      async () => {
        if (proc.exitInfo) throw new PollFailure(`the metadata service exited (${describeExit(proc.exitInfo)})`);
        const { status, body } = await this.call<{ ok?: boolean; stale?: boolean }>('GET', '/health', undefined, DEFAULTS.healthTimeoutMs);
        return status === 200 && (!this.#waitForZooKeeper || body.stale === false);
      },
      {
        timeoutMs: this.#startTimeoutMs,
        intervalMs: DEFAULTS.pollIntervalMs,
        what: `the metadata service (pid ${proc.pid}) to answer GET ${this.url}/health with 200${this.#waitForZooKeeper ? ' and stale: false' : ''}`,
        details: () => `metadata service log ${this.logFile}, last lines:\n${this.logTail()}`,
      },
    );
  }

  async kill(): Promise<void> {
    if (this.#proc) await killProcess(this.#proc, 'metadata service');
  }

  async restart(): Promise<void> {
    if (this.#proc) await terminateProcess(this.#proc, 'metadata service');
    await this.start();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        if (this.#proc) await terminateProcess(this.#proc, 'metadata service');
        await this.#agent.close().catch(() => undefined);
      } finally {
        removeTempDir(this.#rootDir);
      }
    })();
    return this.#stopping;
  }

  toString(): string {
    return `metadata service ${this.url}: ${this.#describe()}`;
  }
}

/**
 * Starts the metadata service against `zookeeper` under `zkRoot` and waits until it is ready
 * (see MetadataServiceOptions.waitForZooKeeper). On failure the process is stopped.
 */
export async function startMetadataService(options: MetadataServiceOptions): Promise<MetadataServiceProcess> {
  const [port] = (await findFreePorts(1)) as [number];
  const args = [
    ...['--listen', `127.0.0.1:${port}`, '--zookeeper', options.zookeeper.connectString, '--zk-root', options.zkRoot],
    ...['--session-timeout-ms', String(options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs)],
    ...(options.deletedRecentlyMs === undefined ? [] : ['--deleted-recently-ms', String(options.deletedRecentlyMs)]),
    ...(options.extraArgs ?? []),
  ];
  const rootDir = makeTempDir('conveyor-metadata-');
  const service = new LocalMetadataService(port, rootDir, args, options.startTimeoutMs ?? DEFAULTS.startTimeoutMs, options.waitForZooKeeper ?? true);
  try {
    await service.start();
  } catch (error) {
    await service.stop().catch(() => undefined);
    throw error;
  }
  return service;
}
