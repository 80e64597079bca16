/** Child processes of the launcher: started with their output in a log file, stopped politely then firmly. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Child {
  name: string;
  process: ChildProcess;
  logFile: string;
  exited: Promise<void>;
}

/**
 * Node options for every Node process the launcher starts, from CONVEYOR_NODE_ARGS (as the test
 * harness reads it), e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' to profile a run of `npm run bench`.
 */
export function extraNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.CONVEYOR_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
}

/**
 * V8 options of the processes that carry messages (backend nodes, frontends): semi-spaces of
 * 32 MiB, twice V8's default. Every message passes through their young generation (its body as a
 * string, its batch's objects); with room for more batches between scavenges, fewer of them are
 * still alive, and copied, when one runs. On `npm run bench` the main thread's collection pauses
 * went from 10-13 % of these processes' CPU to 7-9 %, for up to 32 MiB more memory each.
 */
export const SERVER_V8_ARGS: readonly string[] = Object.freeze(['--max-semi-space-size=32']);

/** SERVER_V8_ARGS, then CONVEYOR_NODE_ARGS (later options win, so the environment can override). */
export function serverNodeArgs(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...SERVER_V8_ARGS, ...extraNodeArgs(env)];
}

export function startChild(name: string, command: string, args: string[], options: { cwd: string; logFile: string; env?: NodeJS.ProcessEnv }): Child {
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', fd, fd] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined);
    return { name, process: child, logFile: options.logFile, exited };
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. */
export async function stopChild(child: Child, graceMs = 8_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export { freePort } from './free-port.ts';

/** True if host:port can be listened on now. */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes (then throws naming `what`). */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, failFast?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = failFast?.();
    if (failure) throw new Error(failure);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
