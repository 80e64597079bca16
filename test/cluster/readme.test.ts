/**
 * Every command in README.md's ```sh blocks runs, in order, against a local Conveyor started as
 * `npm start` starts it, and exits 0.
 *
 * The convention (README authors, read this):
 *  - Only blocks fenced exactly as ```sh are run as written. Use ```bash (or another tag) for
 *    commands that cannot run next to a local Conveyor — fixed ports, background processes —
 *    so this test skips them on purpose rather than by accident. The exception: `npm run bench…`
 *    lines in ```bash blocks run at a smoke-test size (SMALL_BENCH), since their own sizes take
 *    minutes.
 *  - One command per line; a line ending in `\` continues on the next. `# comments` are fine.
 *  - Lines starting with `npm ci`, `npm start` or `npm test` are skipped: local-cluster.test.ts
 *    runs `npm start`'s own command, and `npm test` is what runs this file.
 *  - Each block runs as one `sh -e` script, so an `export` or `eval` holds for the rest of its
 *    block (and only its block), and the first failing command fails the block.
 *  - Commands run with the repository as the working directory, `node_modules/.bin` on the PATH
 *    and CONVEYOR_DATA_DIR naming the running Conveyor's data directory, so `npx conveyor …` and
 *    `conveyor …` operate it without flags. The README's endpoint, http://127.0.0.1:9324, is
 *    replaced by the test's own (on a free port).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, removeDir, startLocalConveyor } from '../support/local-conveyor.ts';
import { nodeEnv } from '../support/cluster.ts';

const SKIPPED = /^(npm ci|npm start|npm test)\b/;

/** The commands of each block fenced ```<tag> (sh by default), in order, continuation lines joined. */
function readmeBlocks(markdown: string, tag = 'sh'): string[][] {
  const blocks: string[][] = [];
  const fence = new RegExp(`^\`\`\`${tag}[ \\t]*\\n([\\s\\S]*?)^\`\`\`[ \\t]*$`, 'gm');
  for (const block of markdown.matchAll(fence)) {
    const commands: string[] = [];
    blocks.push(commands);
    let pending = '';
    for (const raw of block[1]!.split('\n')) {
      const line = pending + (pending ? raw.trimStart() : raw);
      if (/\\\s*$/.test(raw)) {
        pending = `${line.replace(/\s*\\\s*$/, '')} `;
        continue;
      }
      pending = '';
      const command = line.trim();
      if (command === '' || command.startsWith('#')) continue;
      commands.push(command);
    }
  }
  return blocks;
}

function run(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string; stdout: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd: ROOT, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}`, stdout });
    });
  });
}

/** Smoke-test sizes for each benchmark script (the README's sizes take minutes). */
const SMALL_BENCH: Readonly<Record<string, string>> = {
  bench: '--messages 500 --warmup 200 --latency-samples 10 --latency-warmup 5',
  'bench:engine': '--messages 1000',
  'bench:replication': '--messages 500 --latency-samples 10',
  'bench:frontend': '--messages 500 --warmup 200',
  'bench:hops': '--samples 20',
};

/** A README benchmark line at smoke-test size: its own flags, then smaller counts (the last value of a flag wins). */
function smallBench(line: string): string {
  const command = line.replace(/\s+#.*$/, '');
  const script = /^npm run (bench(?::\w+)?)/.exec(command)?.[1] ?? '';
  const flags = SMALL_BENCH[script];
  if (flags === undefined) throw new Error(`no smoke-test size for "${script}": add it to SMALL_BENCH`);
  return command.includes(' -- ') ? `${command} ${flags}` : `${command} -- ${flags}`;
}

t.test('the fence convention', async (t) => {
  const sample = ['```sh', 'a one', 'b two \\', '  continued', '# comment', '```', '```bash', 'not run', '```', '```sh', 'npm test', 'c three', '```'].join('\n');
  t.same(readmeBlocks(sample).map((b) => b.filter((c) => !SKIPPED.test(c))), [['a one', 'b two continued'], ['c three']]);
});

t.test("every command in the README's ```sh blocks exits 0 against a running local Conveyor", async (t) => {
  const blocks = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const commands = blocks.flat();
  const runnable = blocks.map((b) => b.filter((c) => !SKIPPED.test(c))).filter((b) => b.length > 0);
  t.ok(commands.some((c) => SKIPPED.test(c)), 'the quick start is there (run by other tests)');
  t.ok(runnable.flat().length >= 10, `the README has commands to run (${runnable.flat().length})`);

  const conveyor = await startLocalConveyor();
  t.teardown(async () => {
    await conveyor.stop();
    removeDir(conveyor.dataDir);
  });
  const env = { ...nodeEnv(), CONVEYOR_DATA_DIR: conveyor.dataDir, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
  for (const block of runnable) {
    const script = ['set -e', ...block].join('\n').replaceAll('http://127.0.0.1:9324', conveyor.endpoint);
    const { code, output } = await run(script, env);
    t.equal(code, 0, `${block.join(' ; ')}${code === 0 ? '' : `\n${output}`}`);
  }

  // The benchmark commands are fenced ```bash (minutes at their sizes); each runs here at a
  // smoke-test size and must end with its JSON figures. `--endpoint` ones drive this Conveyor.
  // Two at a time: most of a small run is spent starting and stopping its own cluster.
  const benches = readmeBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'bash').flat().filter((c) => c.startsWith('npm run bench'));
  t.ok(benches.length >= 4, `the README lists the benchmarks (${benches.length})`);
  // As the README says: the --endpoint ones sign with the key `npx conveyor env` exports.
  const benchCommands = benches.map((line) => `eval "$(npx conveyor env)"; ${smallBench(line).replaceAll('http://127.0.0.1:9324', conveyor.endpoint).replaceAll('./data', conveyor.dataDir)}`);
  const results: Array<Awaited<ReturnType<typeof run>>> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < benchCommands.length; i = next++) results[i] = await run(benchCommands[i]!, env);
  };
  await Promise.all([worker(), worker()]);
  for (const [i, command] of benchCommands.entries()) {
    const { code, output, stdout } = results[i]!;
    const figures = ((): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })();
    // Every benchmark prints a throughput, but the hops' floor, which prints times.
    const figure = /npm run bench:hops/.test(command) ? 'chainP50Ms' : 'sendPerSec';
    const value = figures?.[figure];
    t.ok(code === 0 && typeof value === 'number' && value > 0, `${command} (${figure} ${String(value)})${code === 0 && figures ? '' : `\n${output.slice(-3_000)}`}`);
  }
});
