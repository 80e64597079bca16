/**
 * A private, standalone ZooKeeper for multi-process tests, run as a child process of the test:
 * its own free port, its own temp dir (config, data, log), no admin server, every four-letter
 * command allowed. Clients reach it through a small holding proxy (connectString), which is what
 * makes pause()/resume() expire timed-out sessions every time (see HoldingProxy). Also the
 * child-process plumbing the cluster harness shares: tracked children that cannot outlive the
 * test, free ports, log tails and bounded polling.
 *
 * Children die with the test: each is started under `setpriv --pdeathsig SIGKILL` when util-linux
 * has it (so even a SIGKILLed test takes them along), and a process 'exit' hook SIGKILLs whatever
 * is still tracked as a last resort.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ZOOKEEPER_INSTALL_HINT, findExecutable, findZooKeeperInstall, freePorts, pathDirs, type ZooKeeperInstall } from '@conveyor/cluster';

export { ZOOKEEPER_INSTALL_HINT, findZooKeeperInstall, type ZooKeeperInstall };
import { setTimeout as delay } from 'node:timers/promises';


const DEFAULTS = Object.freeze({
  tickTimeMs: 500,
  startTimeoutMs: 15_000,
  stopGraceMs: 5_000,
  killWaitMs: 5_000,
  pollIntervalMs: 100,
  fourLetterTimeoutMs: 1_000,
  closeSessionTimeoutMs: 5_000,
  logTailLines: 40,
});

// ---------------------------------------------------------------------------------------------
// Tracked child processes

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TrackedProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Set once the process has exited. */
  readonly exitInfo: ExitInfo | undefined;
  readonly exited: Promise<ExitInfo>;
}

export interface SpawnTrackedOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
}

const liveChildren = new Set<ChildProcess>();
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;
let setprivPath: string | null | undefined;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of liveTempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** util-linux's setpriv, which can ask the kernel to SIGKILL the child when this process dies. */
function findSetpriv(): string | null {
  if (setprivPath === undefined) setprivPath = process.platform === 'linux' ? (findExecutable('setpriv', [...pathDirs(), '/usr/bin', '/bin']) ?? null) : null;
  return setprivPath;
}

/** A temp dir removed by removeTempDir, or at process exit at the latest. */
export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveTempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveTempDirs.delete(dir);
}

/**
 * Starts `command args` with stdout and stderr appended to options.logFile; resolves once the
 * process exists (rejects if it cannot be started). The child is killed at the latest when this
 * process exits.
 */
export async function spawnTracked(command: string, args: string[], options: SpawnTrackedOptions): Promise<TrackedProcess> {
  installExitHook();
  const setpriv = findSetpriv();
  // setpriv execs the command, so the pid we get is the command's own (signals reach it directly).
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'SIGKILL', '--', command, ...args]] : [command, args];
  const fd = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      liveChildren.delete(child);
      resolve(exitInfo);
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`could not start ${command}: ${error.message}`, { cause: error })));
  });
  liveChildren.add(child);
  // A forgotten child must not keep the test alive: the exit hook then kills it.
  child.unref();
  const pid = child.pid!;
  return {
    pid,
    logFile: options.logFile,
    get exitInfo() {
      return exitInfo;
    },
    exited,
  };
}

/** Waits up to timeoutMs for the process to exit; true if it did. */
export async function waitForExit(proc: TrackedProcess, timeoutMs: number): Promise<boolean> {
  if (proc.exitInfo) return true;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([proc.exited.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** SIGKILL, then wait (bounded) for the exit. */
export async function killProcess(proc: TrackedProcess, what: string): Promise<void> {
  if (proc.exitInfo) return;
  signalProcess(proc.pid, 'SIGKILL');
  if (!(await waitForExit(proc, DEFAULTS.killWaitMs))) throw new Error(`${what} (pid ${proc.pid}) did not exit within ${DEFAULTS.killWaitMs} ms of SIGKILL`);
}

/** SIGTERM (and SIGCONT, in case it is stopped), then SIGKILL after graceMs. */
export async function terminateProcess(proc: TrackedProcess, what: string, graceMs: number = DEFAULTS.stopGraceMs): Promise<void> {
  if (proc.exitInfo) return;
  signalProcess(proc.pid, 'SIGTERM');
  signalProcess(proc.pid, 'SIGCONT');
  if (await waitForExit(proc, graceMs)) return;
  await killProcess(proc, what);
}

/** Linux only: the process state letter from /proc ('T' when stopped); undefined elsewhere. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** SIGSTOP or SIGCONT, then wait (bounded, where /proc tells) until the kernel reflects it. */
export async function stopOrContinue(proc: TrackedProcess, signal: 'SIGSTOP' | 'SIGCONT', what: string): Promise<void> {
  if (proc.exitInfo) throw new Error(`cannot ${signal} ${what}: it is not running (${describeExit(proc.exitInfo)})`);
  signalProcess(proc.pid, signal);
  const wantStopped = signal === 'SIGSTOP';
  await pollUntil(
    () => {
      const state = processState(proc.pid);
      return state === undefined || (state === 'T') === wantStopped;
    },
    { timeoutMs: 2_000, intervalMs: 10, what: `${what} (pid ${proc.pid}) to be ${wantStopped ? 'stopped' : 'running again'}` },
  );
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `killed by ${info.signal}` : `exit code ${info.code}`;
}

// ---------------------------------------------------------------------------------------------
// Ports, logs, polling

/** n distinct ports that were free a moment ago, below the kernel's ephemeral range (see the launcher's free-port.ts). */
export const findFreePorts = (n: number): Promise<number[]> => freePorts(n);

/** The last `lines` lines of a (log) file; reads at most the last 64 KiB. */
export function readLogTail(file: string, lines: number = DEFAULTS.logTailLines): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return `(no log at ${file})`;
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const all = buffer.toString('utf8').split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

export function appendLogMarker(file: string, text: string): void {
  appendFileSync(file, `---- test harness ${new Date().toISOString()}: ${text} ----\n`);
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is being waited for, for the timeout message ("a leader", "ZooKeeper to answer"). */
  what: string;
  /** Extra text for the timeout message (log tails, last observations). */
  details?: () => string;
}

/**
 * Calls check until it returns something truthy (returned) or timeoutMs passes (throws an Error
 * naming `what`, the last error check threw, and details()). A throwing check counts as "not yet",
 * except a PollFailure, which ends the wait at once.
 */
export async function pollUntil<T>(check: () => T | Promise<T>, options: PollOptions): Promise<NonNullable<T>> {
  const deadline = performance.now() + options.timeoutMs;
  const intervalMs = options.intervalMs ?? DEFAULTS.pollIntervalMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await withDeadline(Promise.resolve().then(check), deadline);
      if (result) return result as NonNullable<T>;
      lastError = undefined;
    } catch (error) {
      if (error instanceof PollFailure) throw pollError(`gave up waiting for ${options.what}: ${error.message}`, error, options);
      lastError = error;
    }
    const remaining = deadline - performance.now();
    if (remaining <= 0) break;
    await delay(Math.min(intervalMs, remaining));
  }
  const last = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw pollError(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${last}`, lastError, options);
}

/** Thrown by a pollUntil check: stop polling and fail now (say, the process being waited for died). */
export class PollFailure extends Error {}

function pollError(message: string, cause: unknown, options: PollOptions): Error {
  const details = options.details?.();
  return new Error(details ? `${message}\n${details}` : message, cause instanceof Error ? { cause } : undefined);
}

/** The promise's outcome, or a rejection once the deadline (a performance.now() time) passes. */
async function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the check itself did not finish in time')), Math.max(0, deadline - performance.now()) + 10);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The holding proxy

/**
 * Why a proxy: SIGSTOP alone does not reliably expire sessions. The kernel keeps accepting the
 * clients' pings while the JVM is stopped; on SIGCONT the server reads them and touches their
 * sessions in a race with its session expirer, and about one time in five a session that ran
 * out of time survives. So clients talk to ZooKeeper through this forwarder, which can hold all
 * traffic (new connections wait too), and which reads each connection's ConnectResponse to know
 * every session's id, password and timeout and when its client last sent anything. resume()
 * closes, with their own credentials, the sessions whose client was silent (to the server) for
 * their whole timeout, and only then lets the held traffic through: those clients see their
 * session expired, the others carry on.
 */

interface TrackedSession {
  id: Buffer;
  password: Buffer;
  timeoutMs: number;
  /** performance.now() of the last client bytes forwarded for the session. */
  lastTouchAt: number;
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  lastClientDataAt: number;
  /** The first bytes from the server, until the ConnectResponse is read (or it is not one). */
  head: Buffer | undefined;
  session: TrackedSession | undefined;
}

class HoldingProxy {
  readonly #server: Server;
  readonly #upstreamPort: number;
  readonly #links = new Set<Link>();
  readonly #sessions = new Map<string, TrackedSession>();
  #held = false;
  #closed = false;

  private constructor(server: Server, upstreamPort: number) {
    this.#server = server;
    this.#upstreamPort = upstreamPort;
  }

  static async listen(port: number, upstreamPort: number): Promise<HoldingProxy> {
    const server = createServer({ allowHalfOpen: true });
    const proxy = new HoldingProxy(server, upstreamPort);
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    return proxy;
  }

  get held(): boolean {
    return this.#held;
  }

  hold(): void {
    this.#held = true;
    for (const link of this.#links) {
      link.client.pause();
      link.upstream?.pause();
    }
  }

  /** Sessions whose client has been silent for their whole timeout as of `now`; forgotten here. */
  takeSessionsTimedOutBy(now: number): TrackedSession[] {
    const due = [...this.#sessions.values()].filter((s) => s.lastTouchAt + s.timeoutMs <= now);
    for (const session of due) this.#sessions.delete(session.id.toString('hex'));
    return due;
  }

  release(): void {
    this.#held = false;
    for (const link of this.#links) {
      if (link.upstream) {
        link.upstream.resume();
        link.client.resume();
      } else {
        this.#connect(link);
      }
    }
  }

  /** Drops every connection and stops holding (the server went away; its sessions stay known). */
  dropAll(): void {
    this.#held = false;
    for (const link of this.#links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
    this.#links.clear();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.dropAll();
    await closed;
  }

  #accept(client: Socket): void {
    if (this.#closed) {
      client.destroy();
      return;
    }
    // Like the children, the proxy must not keep a test alive that forgot to stop ZooKeeper.
    client.unref();
    const link: Link = { client, upstream: undefined, lastClientDataAt: performance.now(), head: Buffer.alloc(0), session: undefined };
    this.#links.add(link);
    client.setNoDelay(true);
    client.on('error', () => this.#drop(link));
    client.on('close', () => {
      if (!link.upstream || link.upstream.destroyed) this.#links.delete(link);
    });
    if (this.#held) client.pause();
    else this.#connect(link);
  }

  #connect(link: Link): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.#upstreamPort, allowHalfOpen: true });
    link.upstream = upstream;
    upstream.unref();
    upstream.setNoDelay(true);
    upstream.on('error', () => this.#drop(link));
    upstream.on('close', () => {
      if (link.client.destroyed) this.#links.delete(link);
    });
    forward(link.client, upstream, () => {
      link.lastClientDataAt = performance.now();
      if (link.session) link.session.lastTouchAt = link.lastClientDataAt;
    });
    forward(upstream, link.client, (chunk) => this.#inspect(link, chunk));
    link.client.resume();
  }

  /** Reads the session out of the server's first frame when it is a ConnectResponse. */
  #inspect(link: Link, chunk: Buffer): void {
    if (!link.head) return;
    const head = Buffer.concat([link.head, chunk]);
    link.head = head;
    if (head.length < 4) return;
    const length = head.readInt32BE(0);
    // protocolVersion, timeOut, sessionId, passwd (4 + 16), and readOnly on newer servers.
    if (length < 36 || length > 64) {
      link.head = undefined;
      return;
    }
    if (head.length < 4 + length) return;
    link.head = undefined;
    const timeoutMs = head.readInt32BE(8);
    const id = Buffer.from(head.subarray(12, 20));
    const passwordLength = head.readInt32BE(20);
    if (passwordLength < 0 || 24 + passwordLength > 4 + length) return;
    const key = id.toString('hex');
    if (timeoutMs <= 0) {
      this.#sessions.delete(key);
      return;
    }
    const session = { id, password: Buffer.from(head.subarray(24, 24 + passwordLength)), timeoutMs, lastTouchAt: link.lastClientDataAt };
    this.#sessions.set(key, session);
    link.session = session;
  }

  #drop(link: Link): void {
    link.client.destroy();
    link.upstream?.destroy();
    this.#links.delete(link);
  }
}

/** Copies data and half-closes from one socket to the other (four-letter commands half-close). */
function forward(from: Socket, to: Socket, onData: (chunk: Buffer) => void): void {
  from.on('data', (chunk: Buffer) => {
    onData(chunk);
    if (!to.destroyed) to.write(chunk);
  });
  from.on('end', () => to.end());
  from.on('close', (hadError) => (hadError ? to.destroy() : to.end()));
}

function frame(body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(body.length);
  return Buffer.concat([length, body]);
}

function connectRequest(session: TrackedSession): Buffer {
  const body = Buffer.alloc(4 + 8 + 4 + 8 + 4 + session.password.length + 1);
  let offset = body.writeInt32BE(0, 0); // protocolVersion
  offset = body.writeBigInt64BE(0n, offset); // lastZxidSeen
  offset = body.writeInt32BE(session.timeoutMs, offset);
  offset += session.id.copy(body, offset);
  offset = body.writeInt32BE(session.password.length, offset);
  offset += session.password.copy(body, offset);
  body.writeUInt8(0, offset); // readOnly
  return frame(body);
}

const CLOSE_SESSION_REQUEST = frame(Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf5])); // xid 1, closeSession (-11)

/**
 * Closes a session with its own id and password, the way ZooKeeper's own tests expire one.
 * Resolves once the server confirms the close or says the session is gone. When the server's
 * expirer gets there first it may drop our connection mid-way (it closes every connection of an
 * expiring session), so that case asks again, a bounded number of times.
 */
async function closeSession(port: number, session: TrackedSession, timeoutMs: number): Promise<void> {
  const attempts = 5;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const outcome = await closeSessionOnce(port, session, timeoutMs);
    if (outcome === 'closed' || outcome === 'gone') return;
  }
  throw new Error(`could not close ZooKeeper session 0x${session.id.toString('hex')}: the server dropped the connection ${attempts} times without an answer`);
}

function closeSessionOnce(port: number, session: TrackedSession, timeoutMs: number): Promise<'closed' | 'gone' | 'dropped'> {
  const name = `0x${session.id.toString('hex')}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    let phase: 'connecting' | 'closing' | 'closed' | 'gone' = 'connecting';
    let failure: Error | undefined;
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(connectRequest(session)));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 4 && buffer.length >= 4 + buffer.readInt32BE(0)) {
        const body = buffer.subarray(4, 4 + buffer.readInt32BE(0));
        buffer = buffer.subarray(4 + body.length);
        if (phase === 'connecting') {
          // ConnectResponse: protocolVersion, then timeOut; a timeOut of 0 means "no such session".
          if (body.length < 8 || body.readInt32BE(4) <= 0) {
            phase = 'gone';
            socket.end();
          } else {
            phase = 'closing';
            socket.write(CLOSE_SESSION_REQUEST);
          }
        } else if (phase === 'closing' && body.length >= 4 && body.readInt32BE(0) === 1) {
          phase = 'closed';
          socket.end();
        }
      }
    });
    socket.on('error', (error) => (failure = error));
    socket.on('close', () => {
      clearTimeout(timer);
      if (phase === 'closed' || phase === 'gone') resolve(phase);
      else if (failure && (failure as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(new Error(`could not close ZooKeeper session ${name}: ${failure.message}`, { cause: failure }));
      else resolve('dropped');
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The server

export interface ZooKeeperOptions {
  /** ZooKeeper's tick; session timeouts are clamped to [2, 20] ticks. Default 500 ms. */
  tickTimeMs?: number;
  /** Default 20 ticks. */
  maxSessionTimeoutMs?: number;
  /** How long start() and restart() wait for the server to serve. Default 15 s. */
  startTimeoutMs?: number;
}

export interface ZooKeeperServer {
  /** '127.0.0.1:PORT', for clients: the holding proxy in front of the server. */
  readonly connectString: string;
  readonly port: number;
  /** The server's own port, behind the proxy (four-letter commands, bypassing pause()). */
  readonly serverPort: number;
  /** Pid of the most recently started JVM (it changes on restart()). */
  readonly pid: number;
  readonly running: boolean;
  readonly paused: boolean;
  readonly dataDir: string;
  readonly logFile: string;
  /** SIGTERM, SIGKILL after 5 s; removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGSTOP, and client traffic is held: to clients the server froze. */
  pause(): Promise<void>;
  /**
   * SIGCONT; closes every session whose client sent nothing (that reached the server) for its
   * whole timeout, then lets the held traffic through: those clients see their session expired,
   * the others carry on.
   */
  resume(): Promise<void>;
  /** SIGKILL; the data dir stays for restart(). Client connections drop. */
  kill(): Promise<void>;
  /** Stops the server if it runs, starts it again on the same port and data dir, waits until it serves. */
  restart(): Promise<void>;
  /** Sends a four-letter command ('ruok', 'srvr', 'mntr', 'cons', 'dump', ...) to the server, returns the answer. */
  fourLetterWord(command: string): Promise<string>;
  logTail(lines?: number): string;
}

/** Sends a four-letter command to 127.0.0.1:port; resolves with the answer ('' if none). */
export function fourLetterWord(port: number, command: string, timeoutMs: number = DEFAULTS.fourLetterTimeoutMs): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('connect', () => socket.end(command));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

const LOG4J_PROPERTIES = `log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
`;

const LOGBACK_XML = `<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
`;

interface ZooKeeperLayout {
  rootDir: string;
  confDir: string;
  dataDir: string;
  logFile: string;
  serverPort: number;
}

function writeConfig(layout: ZooKeeperLayout, tickTimeMs: number, maxSessionTimeoutMs: number): void {
  const cfg = join(layout.confDir, 'zoo.cfg');
  const lines = [
    `tickTime=${tickTimeMs}`,
    `minSessionTimeout=${2 * tickTimeMs}`,
    `maxSessionTimeout=${maxSessionTimeoutMs}`,
    `dataDir=${layout.dataDir}`,
    `clientPort=${layout.serverPort}`,
    'clientPortAddress=127.0.0.1',
    'maxClientCnxns=0',
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
    // Test data need not survive a machine crash, only a process kill (the page cache keeps it).
    'forceSync=no',
    'preAllocSize=1024',
  ];
  writeFileSync(cfg, `${lines.join('\n')}\n`);
  writeFileSync(join(layout.confDir, 'log4j.properties'), LOG4J_PROPERTIES);
  writeFileSync(join(layout.confDir, 'logback.xml'), LOGBACK_XML);
}

function jvmArgs(install: ZooKeeperInstall, layout: ZooKeeperLayout, cfg: string): string[] {
  return [
    '-Xms16m',
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    '-Dzookeeper.admin.enableServer=false',
    '-Dzookeeper.4lw.commands.whitelist=*',
    `-Dlog4j.configuration=file:${join(layout.confDir, 'log4j.properties')}`,
    `-Dlogback.configurationFile=${join(layout.confDir, 'logback.xml')}`,
    '-cp',
    [layout.confDir, ...install.classpath].join(delimiter),
    'org.apache.zookeeper.server.quorum.QuorumPeerMain',
    cfg,
  ];
}

class LocalZooKeeper implements ZooKeeperServer {
  readonly #install: ZooKeeperInstall;
  readonly #layout: ZooKeeperLayout;
  readonly #cfg: string;
  readonly #proxy: HoldingProxy;
  readonly #proxyPort: number;
  readonly #startTimeoutMs: number;
  #proc: TrackedProcess | undefined;
  #stopping: Promise<void> | undefined;

  constructor(install: ZooKeeperInstall, layout: ZooKeeperLayout, cfg: string, proxy: HoldingProxy, proxyPort: number, startTimeoutMs: number) {
    this.#install = install;
    this.#layout = layout;
    this.#cfg = cfg;
    this.#proxy = proxy;
    this.#proxyPort = proxyPort;
    this.#startTimeoutMs = startTimeoutMs;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }
  get port(): number {
    return this.#proxyPort;
  }
  get serverPort(): number {
    return this.#layout.serverPort;
  }
  get pid(): number {
    return this.#proc?.pid ?? -1;
  }
  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitInfo === undefined;
  }
  get paused(): boolean {
    return this.running && this.#proxy.held;
  }
  get dataDir(): string {
    return this.#layout.dataDir;
  }
  get logFile(): string {
    return this.#layout.logFile;
  }

  logTail(lines?: number): string {
    return readLogTail(this.logFile, lines);
  }

  fourLetterWord(command: string): Promise<string> {
    return fourLetterWord(this.serverPort, command);
  }

  async start(): Promise<void> {
    if (this.#stopping) throw new Error(`ZooKeeper ${this.connectString} was stopped; start a new one`);
    if (this.running) throw new Error(`ZooKeeper ${this.connectString} is already running (pid ${this.pid})`);
    appendLogMarker(this.logFile, `starting ZooKeeper on 127.0.0.1:${this.serverPort} (clients via ${this.connectString})`);
    const proc = await spawnTracked(this.#install.java, jvmArgs(this.#install, this.#layout, this.#cfg), { cwd: this.#layout.rootDir, logFile: this.logFile });
    this.#proc = proc;
    try {
      await this.#waitUntilServing(proc);
    } catch (error) {
      await killProcess(proc, 'ZooKeeper').catch(() => undefined);
      throw error;
    }
  }

  /** 'srvr' reports a Mode only once the server serves ('ruok' says imok before that). */
  async #waitUntilServing(proc: TrackedProcess): Promise<void> {
    await pollUntil(
      async () => {
        if (proc.exitInfo) throw new PollFailure(`the ZooKeeper JVM exited (${describeExit(proc.exitInfo)})`);
        return /^Mode: /m.test(await this.fourLetterWord('srvr'));
      },
      { timeoutMs: this.#startTimeoutMs, what: `ZooKeeper (pid ${proc.pid}) to serve on 127.0.0.1:${this.serverPort}`, details: () => this.#logDetails() },
    );
  }

  #logDetails(): string {
    return `ZooKeeper log ${this.logFile}, last lines:\n${this.logTail()}`;
  }

  #current(action: string): TrackedProcess {
    if (!this.#proc || this.#proc.exitInfo) throw new Error(`cannot ${action} ZooKeeper ${this.connectString}: it is not running`);
    return this.#proc;
  }

  async pause(): Promise<void> {
    const proc = this.#current('pause');
    this.#proxy.hold();
    await stopOrContinue(proc, 'SIGSTOP', 'ZooKeeper');
  }

  async resume(): Promise<void> {
    const proc = this.#current('resume');
    try {
      await stopOrContinue(proc, 'SIGCONT', 'ZooKeeper');
      if (!this.#proxy.held) return;
      const timedOut = this.#proxy.takeSessionsTimedOutBy(performance.now());
      await Promise.all(timedOut.map((session) => closeSession(this.serverPort, session, DEFAULTS.closeSessionTimeoutMs)));
    } finally {
      this.#proxy.release();
    }
  }

  async kill(): Promise<void> {
    if (this.#proc) await killProcess(this.#proc, 'ZooKeeper');
    this.#proxy.dropAll();
  }

  async restart(): Promise<void> {
    if (this.#stopping) throw new Error(`ZooKeeper ${this.connectString} was stopped; start a new one`);
    if (this.#proc) await terminateProcess(this.#proc, 'ZooKeeper');
    this.#proxy.dropAll();
    await this.start();
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      try {
        if (this.#proc) await terminateProcess(this.#proc, 'ZooKeeper');
      } finally {
        await this.#proxy.close();
        removeTempDir(this.#layout.rootDir);
      }
    })();
    return this.#stopping;
  }
}

/**
 * Starts a private standalone ZooKeeper and waits (up to 15 s) until it serves. Stop it with
 * stop() (e.g. in t.teardown); it is killed at process exit regardless.
 */
export async function startZooKeeper(options: ZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  const tickTimeMs = options.tickTimeMs ?? DEFAULTS.tickTimeMs;
  const maxSessionTimeoutMs = options.maxSessionTimeoutMs ?? 20 * tickTimeMs;
  if (!(tickTimeMs > 0)) throw new Error(`tickTimeMs must be positive, got ${tickTimeMs}`);
  if (!(maxSessionTimeoutMs >= 2 * tickTimeMs)) throw new Error(`maxSessionTimeoutMs (${maxSessionTimeoutMs}) must be at least 2 * tickTimeMs (${2 * tickTimeMs})`);
  const install = findZooKeeperInstall();
  const [serverPort, proxyPort] = (await findFreePorts(2)) as [number, number];
  const rootDir = makeTempDir('conveyor-zk-');
  const layout: ZooKeeperLayout = { rootDir, confDir: join(rootDir, 'conf'), dataDir: join(rootDir, 'data'), logFile: join(rootDir, 'zookeeper.log'), serverPort };
  let proxy: HoldingProxy | undefined;
  try {
    mkdirSync(layout.confDir);
    mkdirSync(layout.dataDir);
    writeConfig(layout, tickTimeMs, maxSessionTimeoutMs);
    proxy = await HoldingProxy.listen(proxyPort, serverPort);
  } catch (error) {
    removeTempDir(rootDir);
    throw error;
  }
  const server = new LocalZooKeeper(install, layout, join(layout.confDir, 'zoo.cfg'), proxy, proxyPort, options.startTimeoutMs ?? DEFAULTS.startTimeoutMs);
  try {
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw error;
  }
  return server;
}
