/**
 * Every command in README.md's ```sh blocks runs, in order, against a local Conveyor started as
 * `npm start` starts it, and exits 0.
 *
 * The convention (README authors, read this):
 *  - Only blocks fenced exactly as ```sh are run. Use ```bash (or another tag) for commands that
 *    cannot run next to a local Conveyor — fixed ports, background processes, benchmarks that
 *    take minutes — so this test skips them on purpose rather than by accident.
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

const SKIPPED = /^(npm ci|npm start|npm test)\b/;

/** The commands of each ```sh block, in order, continuation lines joined. */
function readmeBlocks(markdown: string): string[][] {
  const blocks: string[][] = [];
  const fence = /^```sh[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
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

function run(command: string, env: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { cwd: ROOT, env, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
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
  const env = { ...process.env, CONVEYOR_DATA_DIR: conveyor.dataDir, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
  for (const block of runnable) {
    const script = ['set -e', ...block].join('\n').replaceAll('http://127.0.0.1:9324', conveyor.endpoint);
    const { code, output } = await run(script, env);
    t.equal(code, 0, `${block.join(' ; ')}${code === 0 ? '' : `\n${output}`}`);
  }
});
