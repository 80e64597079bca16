/**
 * How the launcher and the test harness run a TypeScript entry point (a backend node, the
 * metadata service, a frontend) in a child process: from an esbuild bundle of our own code,
 * cached under node_modules/.cache/conveyor and built again whenever one of its sources changes.
 * Such a process starts on about half the CPU time it takes through tsx, whose loader hooks
 * resolve and transform every module one by one; clusters start and restart nodes often.
 *
 * Packages from node_modules stay outside the bundle, imported by the absolute path their
 * importer resolves them to (workspaces may hold versions of their own). A linked source map
 * and `--enable-source-maps` keep stack traces on the TypeScript sources.
 * CONVEYOR_NO_BUNDLE=1, or a bundle that cannot be built, runs the entry through tsx instead.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild, type Plugin } from 'esbuild';

const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** npm's record of what is installed (a bundle names installed packages by path). */
const INSTALLED = join('node_modules', '.package-lock.json');

/** What a bundle was built from: each source file (repository-relative), npm's install record, and a hash of each one's content. */
interface BundleManifest {
  entry: string;
  inputs: Record<string, string>;
}

function hashOf(path: string): string | undefined {
  try {
    return createHash('sha1').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined; // gone: the bundle is stale
  }
}

/** Where the sources are (the repository by default) and where their bundles go. */
export interface BundleOptions {
  root?: string;
  cacheDir?: string;
}

function isFresh(root: string, manifestFile: string, entry: string): boolean {
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BundleManifest;
  } catch {
    return false;
  }
  if (manifest.entry !== entry || !(INSTALLED in manifest.inputs)) return false;
  return Object.entries(manifest.inputs).every(([file, hash]) => hashOf(join(root, file)) === hash);
}

/**
 * Bare imports of packages other than our workspaces stay external, by absolute path as
 * esbuild resolves them from the importing file (Node's own resolution, with the ESM conditions).
 */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('@conveyor/') || args.path.startsWith('node:') || args.pluginData === 'resolving') return undefined;
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
      if (found.errors.length > 0 || found.external || !isAbsolute(found.path)) return { path: args.path, external: true };
      return { path: found.path, external: true };
    });
  },
};

async function build(root: string, entry: string, bundleFile: string, manifestFile: string): Promise<void> {
  // Several processes may build one bundle at once: each writes its own files and renames them.
  const tmp = `${bundleFile}.${process.pid}.tmp`;
  const result = await esbuild({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: tmp,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [externalPackages],
  });
  // The map is named after the file it was written for; point the bundle at its final name.
  const code = readFileSync(tmp, 'utf8').replace(`//# sourceMappingURL=${basename(tmp)}.map`, `//# sourceMappingURL=${basename(bundleFile)}.map`);
  writeFileSync(tmp, code);
  renameSync(`${tmp}.map`, `${bundleFile}.map`);
  renameSync(tmp, bundleFile);
  // npm rewrites this file on every install: the external paths may have moved.
  const inputs: Record<string, string> = { [INSTALLED]: hashOf(join(root, INSTALLED)) ?? '' };
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = relative(root, resolve(root, input));
    inputs[file] = hashOf(join(root, file)) ?? '';
  }
  const manifest: BundleManifest = { entry, inputs };
  writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify(manifest));
  renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
}

/** Builds under way in this process, by entry: nodes started together share one build. */
const building = new Map<string, Promise<string>>();

/** The path of a fresh bundle of `entry` (relative to the root), built first if missing or stale. */

export function entryBundle(entry: string, options: BundleOptions = {}): Promise<string> {
  const root = options.root ?? REPO_ROOT;
  const cacheDir = options.cacheDir ?? join(root, 'node_modules', '.cache', 'conveyor');
  const key = `${cacheDir}\0${entry}`;
  let pending = building.get(key);
  if (!pending) {
    pending = bundled(root, cacheDir, entry).finally(() => building.delete(key));
    building.set(key, pending);
  }
  return pending;
}

/**
 * Node arguments that run `entry` (a repository-relative .ts file): its fresh bundle with source
 * maps on, or `--import tsx <entry>` when bundles are turned off or cannot be built.
 */
export async function entryArgs(entry: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const viaTsx = ['--import', 'tsx', entry];
  if (env.CONVEYOR_NO_BUNDLE === '1') return viaTsx;
  try {
    return ['--enable-source-maps', await entryBundle(entry)];
  } catch {
    return viaTsx; // e.g. a read-only checkout: tsx still runs it
  }
}

async function bundled(root: string, cacheDir: string, entry: string): Promise<string> {
  const name = entry.replace(/\.ts$/, '').replaceAll(/[^A-Za-z0-9_-]+/g, '-');
  const bundleFile = join(cacheDir, `${name}.mjs`);
  const manifestFile = join(cacheDir, `${name}.json`);
  if (!existsSync(bundleFile) || !existsSync(`${bundleFile}.map`) || !isFresh(root, manifestFile, entry)) {
    mkdirSync(dirname(bundleFile), { recursive: true });
    await build(root, entry, bundleFile, manifestFile);
  }
  return bundleFile;
}
