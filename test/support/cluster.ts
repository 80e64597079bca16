/**
 * A test cluster: N backend node processes (backend-node/src/main.ts, run with tsx from the repo
 * root) against a private ZooKeeper, each with its own free port, data dir and log file (pino's
 * JSON lines go there, not to the test's output). Nodes can be killed, paused, resumed, stopped
 * and restarted with the same id, port and data dir; their /status is polled with short HTTP
 * timeouts. Every wait is bounded and its error names what it waited for, with the nodes' log tails.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
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
  startZooKeeper,
  stopOrContinue,
  terminateProcess,
  type TrackedProcess,
  type ZooKeeperServer,
} from './zookeeper.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const DEFAULTS = Object.freeze({
  nodes: 3,
  sessionTimeoutMs: 2_000,
  entry: 'backend-node/src/main.ts',
  startTimeoutMs: 30_000,
  leaderTimeoutMs: 15_000,
  httpTimeoutMs: 1_000,
  pollIntervalMs: 100,
  errorLogLines: 15,
});

export interface ClusterOptions {
  /** Default 3. */
  nodes?: number;
  /** Default a fresh 'test-<random>'. */
  clusterId?: string;
  /** A running ZooKeeper to use (the cluster leaves it running); by default one is started and owned. */
  zookeeper?: ZooKeeperServer;
  /** Passed as --zk-root when given. */
  zkRoot?: string;
  /** Passed as --min-insync when given. */
  minInSync?: number;
  /** Passed as --session-timeout-ms; default 2000. */
  sessionTimeoutMs?: number;
  /** Passed as --replica-lag-ms when given. */
  replicaLagMs?: number;
  /** Appended to every node's arguments. */
  extraArgs?: string[];
  /** The node program, relative to the repo root; default backend-node/src/main.ts. */
  entry?: string;
  /** How long start and restart wait for GET /health to answer 200; default 30 s. */
  startTimeoutMs?: number;
}

export interface ClusterNode {
  readonly id: string;
  /** 'http://127.0.0.1:PORT' */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Pid of the most recently started process (it changes on restart). */
  readonly pid: number;
  readonly logFile: string;
  readonly running: boolean;
  readonly paused: boolean;
}

export type { NodeRole, NodeStatus } from '@conveyor/backend-node';
import type { NodeStatus } from '@conveyor/backend-node';
import { entryArgs, serverNodeArgs } from '@conveyor/cluster';

export interface TestCluster {
  readonly clusterId: string;
  readonly zookeeper: ZooKeeperServer;
  readonly nodes: readonly ClusterNode[];
  node(id: string): ClusterNode;
  /** SIGKILL; resolves once the process has exited. */
  kill(id: string): Promise<void>;
  /** SIGSTOP. */
  pause(id: string): Promise<void>;
  /** SIGCONT. */
  resume(id: string): Promise<void>;
  /** Starts the node again with the same id, port and data dir (stopping it first if it runs); waits for /health. */
  restart(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s. */
  stopNode(id: string): Promise<void>;
  /** GET /status; rejects if the node does not answer 200 within a second. */
  status(id: string): Promise<NodeStatus>;
  /** GET /status of every running, unpaused node: a status or the error, by node id. */
  statuses(): Promise<Map<string, NodeStatus | Error>>;
  /**
   * Polls until exactly one running node says it leads and every other node that answers names
   * it as leader in the same epoch; default timeout 15 s.
   */
  waitForLeader(timeoutMs?: number): Promise<{ id: string; epoch: number }>;
  /** Polls predicate until it returns something truthy (a throw counts as "not yet"). */
  waitFor<T>(predicate: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>>;
  logTail(id: string, lines?: number): string;
  /** Stops every node and the ZooKeeper it owns; removes its temp dirs. Idempotent. */
  close(): Promise<void>;
}

/** The environment for node processes: the test's, minus what tap injects for its own children. */
export function nodeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^_?TAP/.test(key)) env[key] = value;
  const nodeOptions = (env.NODE_OPTIONS ?? '')
    .split(/\s+/)
    .filter((option) => option !== '' && !option.includes('@tapjs'))
    .join(' ');
  if (nodeOptions) env.NODE_OPTIONS = nodeOptions;
  else delete env.NODE_OPTIONS;
  return env;
}

class NodeHandle implements ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly args: string[];
  proc: TrackedProcess | undefined;
  #paused = false;

  constructor(id: string, port: number, dataDir: string, logFile: string, args: string[]) {
    this.id = id;
    this.port = port;
    this.dataDir = dataDir;
    this.logFile = logFile;
    this.args = args;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get pid(): number {
    return this.proc?.pid ?? -1;
  }
  get running(): boolean {
    return this.proc !== undefined && this.proc.exitInfo === undefined;
  }
  get paused(): boolean {
    return this.running && this.#paused;
  }
  set paused(value: boolean) {
    this.#paused = value;
  }

  /** 'running', 'paused', 'not started' or how it exited. */
  describe(): string {
    if (!this.proc) return 'not started';
    if (this.proc.exitInfo) return `exited (${describeExit(this.proc.exitInfo)})`;
    return this.#paused ? `paused (pid ${this.proc.pid})` : `running (pid ${this.proc.pid})`;
  }
}

class LocalCluster implements TestCluster {
  readonly clusterId: string;
  readonly zookeeper: ZooKeeperServer;
  readonly #ownsZooKeeper: boolean;
  readonly #rootDir: string;
  readonly #entry: string;
  readonly #startTimeoutMs: number;
  readonly #handles: NodeHandle[] = [];
  readonly #agent = new Agent({ connect: { timeout: DEFAULTS.httpTimeoutMs }, keepAliveTimeout: 2_000, headersTimeout: DEFAULTS.httpTimeoutMs, bodyTimeout: DEFAULTS.httpTimeoutMs });
  #closing: Promise<void> | undefined;

  constructor(clusterId: string, zookeeper: ZooKeeperServer, ownsZooKeeper: boolean, rootDir: string, entry: string, startTimeoutMs: number) {
    this.clusterId = clusterId;
    this.zookeeper = zookeeper;
    this.#ownsZooKeeper = ownsZooKeeper;
    this.#rootDir = rootDir;
    this.#entry = entry;
    this.#startTimeoutMs = startTimeoutMs;
  }

  get nodes(): readonly ClusterNode[] {
    return this.#handles;
  }

  addNode(id: string, port: number, args: string[]): NodeHandle {
    const dataDir = join(this.#rootDir, id, 'data');
    mkdirSync(dataDir, { recursive: true });
    const handle = new NodeHandle(id, port, dataDir, join(this.#rootDir, `${id}.log`), [
      ...['--node-id', id, '--cluster-id', this.clusterId, '--data-dir', dataDir],
      ...['--listen', `127.0.0.1:${port}`, '--zookeeper', this.zookeeper.connectString],
      ...args,
    ]);
    this.#handles.push(handle);
    return handle;
  }

  node(id: string): ClusterNode {
    return this.#handle(id);
  }

  #handle(id: string): NodeHandle {
    const handle = this.#handles.find((h) => h.id === id);
    if (!handle) throw new Error(`no node '${id}' in cluster ${this.clusterId} (nodes: ${this.#handles.map((h) => h.id).join(', ')})`);
    return handle;
  }

  logTail(id: string, lines?: number): string {
    return readLogTail(this.#handle(id).logFile, lines);
  }

  /** Each node's state and log tail, for error messages. */
  #details(lines: number = DEFAULTS.errorLogLines): string {
    return this.#handles.map((h) => `--- node ${h.id}: ${h.describe()}, log ${h.logFile}, last lines:\n${readLogTail(h.logFile, lines)}`).join('\n');
  }

  async start(handle: NodeHandle): Promise<void> {
    if (this.#closing) throw new Error(`cluster ${this.clusterId} is closed`);
    if (handle.running) throw new Error(`node ${handle.id} is already running (pid ${handle.pid})`);
    // The launcher's V8 options, then CONVEYOR_NODE_ARGS (e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' for profiling).
    const args = [...serverNodeArgs(), ...(await entryArgs(this.#entry)), ...handle.args];
    appendLogMarker(handle.logFile, `starting node ${handle.id}: node ${args.join(' ')}`);
    handle.paused = false;
    handle.proc = await spawnTracked(process.execPath, args, { cwd: REPO_ROOT, env: nodeEnv(), logFile: handle.logFile });
    const proc = handle.proc;
    await pollUntil(
      async () => {
        if (proc.exitInfo) throw new PollFailure(`node ${handle.id} exited (${describeExit(proc.exitInfo)})`);
        return (await this.#get(handle, '/health')).statusCode === 200;
      },
      { timeoutMs: this.#startTimeoutMs, what: `node ${handle.id} (pid ${proc.pid}) to answer GET ${handle.url}/health with 200`, details: () => `node ${handle.id} log ${handle.logFile}, last lines:\n${readLogTail(handle.logFile)}` },
    );
  }

  async #get(handle: NodeHandle, path: string): Promise<{ statusCode: number; body: string }> {
    const res = await request(`${handle.url}${path}`, { dispatcher: this.#agent, signal: AbortSignal.timeout(DEFAULTS.httpTimeoutMs) });
    return { statusCode: res.statusCode, body: await res.body.text() };
  }

  async kill(id: string): Promise<void> {
    const handle = this.#handle(id);
    if (handle.proc) await killProcess(handle.proc, `node ${id}`);
  }

  async pause(id: string): Promise<void> {
    const handle = this.#handle(id);
    if (!handle.proc || !handle.running) throw new Error(`cannot pause node ${id}: ${handle.describe()}`);
    await stopOrContinue(handle.proc, 'SIGSTOP', `node ${id}`);
    handle.paused = true;
  }

  async resume(id: string): Promise<void> {
    const handle = this.#handle(id);
    if (!handle.proc || !handle.running) throw new Error(`cannot resume node ${id}: ${handle.describe()}`);
    await stopOrContinue(handle.proc, 'SIGCONT', `node ${id}`);
    handle.paused = false;
  }

  async restart(id: string): Promise<void> {
    const handle = this.#handle(id);
    if (handle.proc) await terminateProcess(handle.proc, `node ${id}`);
    await this.start(handle);
  }

  async stopNode(id: string): Promise<void> {
    const handle = this.#handle(id);
    if (handle.proc) await terminateProcess(handle.proc, `node ${id}`);
    handle.paused = false;
  }

  async status(id: string): Promise<NodeStatus> {
    const handle = this.#handle(id);
    if (!handle.running) throw new Error(`node ${id} is ${handle.describe()}`);
    const { statusCode, body } = await this.#get(handle, '/status');
    if (statusCode !== 200) throw new Error(`GET ${handle.url}/status answered ${statusCode}: ${body.slice(0, 300)}`);
    return JSON.parse(body) as NodeStatus;
  }

  async statuses(): Promise<Map<string, NodeStatus | Error>> {
    const live = this.#handles.filter((h) => h.running && !h.paused);
    const answers = await Promise.all(live.map((h) => this.status(h.id).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))));
    return new Map(live.map((h, i) => [h.id, answers[i]!]));
  }

  async waitForLeader(timeoutMs: number = DEFAULTS.leaderTimeoutMs): Promise<{ id: string; epoch: number }> {
    let last = new Map<string, NodeStatus | Error>();
    return pollUntil(
      async () => {
        last = await this.statuses();
        return agreedLeader(last);
      },
      {
        timeoutMs,
        intervalMs: DEFAULTS.pollIntervalMs,
        what: `one leader that every answering node of cluster ${this.clusterId} follows`,
        details: () => `last answers:\n${describeStatuses(last)}\n${this.#details()}`,
      },
    );
  }

  waitFor<T>(predicate: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
    return pollUntil(predicate, { timeoutMs, intervalMs: DEFAULTS.pollIntervalMs, what, details: () => this.#details() });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await Promise.allSettled(this.#handles.map((h) => (h.proc ? terminateProcess(h.proc, `node ${h.id}`) : undefined)));
        await this.#agent.close().catch(() => undefined);
        if (this.#ownsZooKeeper) await this.zookeeper.stop();
      } finally {
        removeTempDir(this.#rootDir);
      }
    })();
    return this.#closing;
  }
}

/** The leader if exactly one node leads and every other answer names it in the same epoch. */
function agreedLeader(answers: Map<string, NodeStatus | Error>): { id: string; epoch: number } | undefined {
  const statuses = [...answers].filter((entry): entry is [string, NodeStatus] => !(entry[1] instanceof Error));
  const leaders = statuses.filter(([, s]) => s.role === 'leader');
  if (leaders.length !== 1) return undefined;
  const [id, leader] = leaders[0]!;
  const agreed = statuses.every(([otherId, s]) => otherId === id || (s.leader === leader.nodeId && s.epoch === leader.epoch));
  return agreed ? { id, epoch: leader.epoch } : undefined;
}

function describeStatuses(answers: Map<string, NodeStatus | Error>): string {
  if (answers.size === 0) return '  (no running node answered)';
  return [...answers]
    .map(([id, s]) => (s instanceof Error ? `  ${id}: ${s.message}` : `  ${id}: ${s.role} epoch ${s.epoch}, leader ${s.leader}, isr [${s.isr.join(',')}], log ${s.logStart}..${s.logEnd}, hw ${s.highWatermark}, applied ${s.appliedEnd}`))
    .join('\n');
}

/**
 * Starts `nodes` backend node processes against `zookeeper` (or a private one it starts and
 * owns) and waits until each answers GET /health. On failure everything started is stopped.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const count = options.nodes ?? DEFAULTS.nodes;
  if (!Number.isInteger(count) || count < 1) throw new Error(`nodes must be a positive integer, got ${count}`);
  const sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs;
  const clusterId = options.clusterId ?? `test-${Math.random().toString(36).slice(2, 10)}`;
  const zookeeper = options.zookeeper ?? (await startZooKeeper({ maxSessionTimeoutMs: Math.max(10_000, sessionTimeoutMs) }));
  const rootDir = makeTempDir(`conveyor-cluster-${clusterId}-`);
  const cluster = new LocalCluster(clusterId, zookeeper, !options.zookeeper, rootDir, options.entry ?? DEFAULTS.entry, options.startTimeoutMs ?? DEFAULTS.startTimeoutMs);
  try {
    const shared: string[] = [];
    if (options.zkRoot !== undefined) shared.push('--zk-root', options.zkRoot);
    if (options.minInSync !== undefined) shared.push('--min-insync', String(options.minInSync));
    shared.push('--session-timeout-ms', String(sessionTimeoutMs));
    if (options.replicaLagMs !== undefined) shared.push('--replica-lag-ms', String(options.replicaLagMs));
    shared.push(...(options.extraArgs ?? []));
    const ports = await findFreePorts(count);
    const handles = ports.map((port, i) => cluster.addNode(`n${i + 1}`, port, shared));
    const started = await Promise.allSettled(handles.map((h) => cluster.start(h)));
    const failures = started.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) throw new Error(`cluster ${clusterId} did not start:\n${failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n')}`, { cause: failures[0]!.reason });
  } catch (error) {
    await cluster.close().catch(() => undefined);
    throw error;
  }
  return cluster;
}
