#!/usr/bin/env node
// The `conveyor` command. It runs a cached bundle of the TypeScript CLI (see
// src/launcher/entry-bundle.ts), built through tsx on first use and after changes, or the
// TypeScript itself through tsx when bundles are off (CONVEYOR_NO_BUNDLE=1) or cannot be built.
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const ENTRY = 'cluster/src/cli-main.ts';
// tsx only for the modules imported through it here: the bundle then loads without its hooks.
const tsx = register({ namespace: 'conveyor-bin' });
let bundle;
if (process.env.CONVEYOR_NO_BUNDLE !== '1') {
  const { entryBundle } = await tsx.import('../src/launcher/entry-bundle.ts', import.meta.url);
  bundle = await entryBundle(ENTRY).catch(() => undefined);
}
if (bundle) {
  await tsx.unregister();
  process.setSourceMapsEnabled(true);
  await import(pathToFileURL(bundle).href);
} else {
  await tsx.import('../src/cli-main.ts', import.meta.url);
}
