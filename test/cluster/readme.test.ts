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
 *  - Commands run with the repository as the working directory, `node_modules/.bin` on the PATH
 *    and CONVEYOR_DATA_DIR naming the running Conveyor's data directory, so `npx conveyor …` and
 *    `conveyor …` operate it without flags.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, removeDir, startLocalConveyor } from '../support/local-conveyor.ts';

const SKIPPED = /^(npm ci|npm start|npm test)\b/;

/** The commands of the ```sh blocks, in order, continuation lines joined. */
function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  const fence = /^```sh[ \t]*\n([\s\S]*?)^```[ \t]*$/gm;
  for (const block of markdown.matchAll(fence)) {
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
  return commands;
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
  t.same(readmeCommands(sample).filter((c) => !SKIPPED.test(c)), ['a one', 'b two continued', 'c three']);
});

t.test("every command in the README's ```sh blocks exits 0 against a running local Conveyor", async (t) => {
  const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const runnable = commands.filter((c) => !SKIPPED.test(c));
  t.ok(commands.some((c) => SKIPPED.test(c)), 'the quick start is there (run by other tests)');
  t.ok(runnable.length >= 10, `the README has commands to run (${runnable.length})`);

  const conveyor = await startLocalConveyor();
  t.teardown(async () => {
    await conveyor.stop();
    removeDir(conveyor.dataDir);
  });
  const env = { ...process.env, CONVEYOR_DATA_DIR: conveyor.dataDir, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
  for (const command of runnable) {
    const { code, output } = await run(command, env);
    t.equal(code, 0, `${command}${code === 0 ? '' : `\n${output}`}`);
  }
});
