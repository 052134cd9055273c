#!/usr/bin/env node
// Runs the compiled CLI (built by `npm install` / `npm run build`). In a checkout whose sources changed after
// the build, or that has no build, it runs the TypeScript sources through tsx (a development dependency)
// instead, so an edit is never silently ignored. `serve` may first start itself again with the allocator
// settings it needs (see allocator.js).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { restartWithAllocatorSettings } from './allocator.js';

/** The newest modification time of a `.ts` file under `dir`. */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** Whether the build is there and at least as new as the sources beside it (an installed package has none). */
function buildIsCurrent(built, sources) {
  if (!existsSync(built)) return false;
  if (!existsSync(`${sources}/cli/index.ts`)) return true;
  return statSync(built).mtimeMs >= newestSource(sources);
}

if (!restartWithAllocatorSettings()) {
  const built = new URL('../dist/cli/index.js', import.meta.url);
  const sources = fileURLToPath(new URL('../src', import.meta.url));
  if (buildIsCurrent(fileURLToPath(built), sources)) {
    await import(built.href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(new URL('../src/cli/index.ts', import.meta.url).href);
  }
}
