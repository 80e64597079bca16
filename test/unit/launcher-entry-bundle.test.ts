/**
 * The launcher's entry bundles: a bundle runs its entry, is reused while nothing changed, is
 * built again when a source file or npm's install record changes, and leaves packages from
 * node_modules outside (the real backend node's bundle imports them by path).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { entryBundle } from '@conveyor/cluster';

function project(t: Test): string {
  const root = t.testdir({
    'main.ts': "import { answer } from './lib/answer.ts';\nconst n: number = answer();\nconsole.log(`answer ${n}`);\n",
    lib: { 'answer.ts': 'export function answer(): number {\n  return 1;\n}\n' },
  });
  mkdirSync(join(root, 'node_modules'));
  writeFileSync(join(root, 'node_modules', '.package-lock.json'), '{"v":1}');
  return root;
}

const run = (bundle: string): string => execFileSync(process.execPath, [bundle], { encoding: 'utf8' }).trim();

t.test('a bundle runs its entry and is built again only when a source or the install record changes', async (t) => {
  const root = project(t);
  const cacheDir = join(root, 'cache');
  const first = await entryBundle('main.ts', { root, cacheDir });
  t.equal(run(first), 'answer 1', 'the bundle runs the TypeScript entry and what it imports');
  const builtAt = statSync(first).mtimeMs;

  t.equal(await entryBundle('main.ts', { root, cacheDir }), first, 'the same file');
  t.equal(statSync(first).mtimeMs, builtAt, 'not rebuilt while nothing changed');

  writeFileSync(join(root, 'lib', 'answer.ts'), 'export function answer(): number {\n  return 2;\n}\n');
  t.equal(run(await entryBundle('main.ts', { root, cacheDir })), 'answer 2', 'an imported source changed: rebuilt');

  const beforeInstall = statSync(first).mtimeMs;
  writeFileSync(join(root, 'node_modules', '.package-lock.json'), '{"v":2}');
  await entryBundle('main.ts', { root, cacheDir });
  t.not(statSync(first).mtimeMs, beforeInstall, 'packages installed again: rebuilt');
  t.equal(run(first), 'answer 2');

  rmSync(first);
  t.equal(run(await entryBundle('main.ts', { root, cacheDir })), 'answer 2', 'a deleted bundle is built again');
});

t.test('builds asked for at once share one build', async (t) => {
  const root = project(t);
  const cacheDir = join(root, 'cache');
  const bundles = await Promise.all([1, 2, 3].map(() => entryBundle('main.ts', { root, cacheDir })));
  t.same(new Set(bundles).size, 1);
  t.equal(run(bundles[0]!), 'answer 1');
});

t.test('a missing entry is refused', async (t) => {
  const root = project(t);
  await t.rejects(entryBundle('missing.ts', { root, cacheDir: join(root, 'cache') }));
});

t.test("the backend node's bundle keeps packages outside, imported by path", async (t) => {
  const bundle = await entryBundle('backend-node/src/main.ts');
  const code = readFileSync(bundle, 'utf8');
  t.match(code, /from "\/[^"]*\/node_modules\/level\/[^"]+"/, 'level is imported from node_modules by path');
  t.notMatch(code, /class ClassicLevel\b/, "and none of level's code is inside");
  t.match(code, /\/\/# sourceMappingURL=backend-node-src-main\.mjs\.map\s*$/, 'a linked source map under its final name');
  t.ok(statSync(`${bundle}.map`).size > 0);
});
