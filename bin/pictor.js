#!/usr/bin/env node
// Runs the compiled CLI (built by `npm install` / `npm run build`); in a checkout without a build,
// falls back to the TypeScript sources through tsx (a development dependency). `serve` may first start
// itself again with the allocator setting it needs (see allocator.js).
import { existsSync } from 'node:fs';
import { restartWithAllocatorSetting } from './allocator.js';

if (!restartWithAllocatorSetting()) {
  const built = new URL('../dist/cli/index.js', import.meta.url);
  if (existsSync(built)) {
    await import(built.href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(new URL('../src/cli/index.ts', import.meta.url).href);
  }
}
