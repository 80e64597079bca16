/**
 * A local Conveyor started exactly as `npm start` starts it (the npm script's own command), and
 * the `conveyor` CLI run as its bin, for tests that operate it the way a user does.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@conveyor/cluster';
import { nodeEnv } from './cluster.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start.split(' ');
export const CLI = join(ROOT, 'node_modules', '.bin', 'conveyor');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export { freePort };

/** Runs `conveyor --data-dir <dir> ...args` and collects what it printed and its exit code. */
export function conveyor(dataDir: string, args: string[], timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(CLI, ['--data-dir', dataDir, ...args], { cwd: ROOT, env: nodeEnv(), timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export interface LocalConveyor {
  dataDir: string;
  endpoint: string;
  /** The key npm start made (from run.json); absent with --no-auth. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  launcher: ChildProcess;
  output(): string;
  cli(...args: string[]): Promise<CliResult>;
  /** Ctrl-C, and waits for the launcher to exit (its exit code). */
  stop(): Promise<number | null>;
}

/** Starts `npm start -- --data-dir <dir> --port <free> ...extra` and waits for the endpoint line. */
export async function startLocalConveyor(options: { dataDir?: string; extraArgs?: string[]; timeoutMs?: number } = {}): Promise<LocalConveyor> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'conveyor-local-'));
  const port = await freePort();
  const launcher = spawn(START[0]!, [...START.slice(1), '--data-dir', dataDir, '--port', String(port), ...(options.extraArgs ?? [])], { cwd: ROOT, env: nodeEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  launcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  launcher.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (!/SQS endpoint: \S+/.test(out)) {
    if (launcher.exitCode !== null || Date.now() > deadline) {
      launcher.kill('SIGINT');
      throw new Error(`npm start did not come up:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // run.json is written before the endpoint line is printed.
  const run = JSON.parse(readFileSync(join(dataDir, 'run.json'), 'utf8')) as { credentials?: { accessKeyId: string; secretAccessKey: string } };
  return {
    dataDir,
    endpoint: /SQS endpoint: (\S+)/.exec(out)![1]!,
    ...(run.credentials ? { credentials: { accessKeyId: run.credentials.accessKeyId, secretAccessKey: run.credentials.secretAccessKey } } : {}),
    launcher,
    output: () => out,
    cli: (...args) => conveyor(dataDir, args),
    stop: async () => {
      if (launcher.exitCode === null) launcher.kill('SIGINT');
      return exited;
    },
  };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
