/**
 * `pictor serve` through bin/pictor.js (what `npm start` runs) gets glibc's fixed mmap threshold and V8's
 * smaller young generation: started again with them when they are missing, stopped by the same signals,
 * never left running alone; settings the operator gives are kept.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';

const glibc = process.platform === 'linux' && Boolean((process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime);
const inPlace = typeof (process as { execve?: unknown }).execve === 'function';

interface Started {
  launcher: ChildProcess;
  /** The process that serves: the launcher itself, or the child it started. */
  server: number;
  adminUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const tempDirs: string[] = [];
after(() => Promise.all(tempDirs.map((dir) => fs.rm(dir, { recursive: true, force: true }))));

async function startThroughBin(env: NodeJS.ProcessEnv): Promise<Started> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-allocator-'));
  tempDirs.push(dir);
  const launcher = spawn(process.execPath, ['bin/pictor.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--data', path.join(dir, 'data'), '--assets', dir, '--log-level', 'warn'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => launcher.on('exit', (code, signal) => resolve({ code, signal })));
  let output = '';
  launcher.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  launcher.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 60_000;
  while (!/Admin URL:\s+\S+/.test(output)) {
    if (launcher.exitCode !== null || Date.now() > deadline) {
      launcher.kill('SIGKILL');
      throw new Error(`pictor did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const children = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return { launcher, server: children[0] ?? launcher.pid!, adminUrl: /Admin URL:\s+(\S+?)\/?\n/.exec(output)![1]!, exited };
}

function environmentOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

function withoutAllocatorSettings(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PICTOR_LOG_LEVEL: 'warn' };
  delete env.MALLOC_MMAP_THRESHOLD_;
  delete env.GLIBC_TUNABLES;
  delete env.NODE_OPTIONS;
  return env;
}

function optionsOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

describe('pictor serve and the allocator', { skip: !glibc && 'glibc only' }, () => {
  it('runs with the fixed mmap threshold, and stops on SIGTERM with its exit code', async () => {
    const started = await startThroughBin(withoutAllocatorSettings());
    try {
      assert.equal(environmentOf(started.server).get('MALLOC_MMAP_THRESHOLD_'), '1048576');
      assert.ok(optionsOf(started.server).includes('--max-semi-space-size=8'), optionsOf(started.server).join(' '));
      assert.equal((await fetch(`${started.adminUrl}/healthz`)).status, 200);
      started.launcher.kill('SIGTERM');
      assert.deepEqual(await started.exited, { code: 0, signal: null });
      assert.ok(await gone(started.server, 10_000), 'the server process is gone');
    } finally {
      started.launcher.kill('SIGKILL');
    }
  });

  it('keeps both settings when the environment already gives them, without starting again', async () => {
    const started = await startThroughBin({ ...withoutAllocatorSettings(), MALLOC_MMAP_THRESHOLD_: '4194304', NODE_OPTIONS: '--max-semi-space-size=16' });
    try {
      assert.equal(started.server, started.launcher.pid, 'no second process');
      assert.equal(environmentOf(started.server).get('MALLOC_MMAP_THRESHOLD_'), '4194304');
      assert.ok(!optionsOf(started.server).some((option) => option.startsWith('--max-semi-space-size')));
    } finally {
      started.launcher.kill('SIGTERM');
      await started.exited;
    }
  });

  it('with the threshold given but not the young generation, starts again with it and keeps the threshold', async () => {
    const started = await startThroughBin({ ...withoutAllocatorSettings(), MALLOC_MMAP_THRESHOLD_: '4194304' });
    try {
      assert.equal(environmentOf(started.server).get('MALLOC_MMAP_THRESHOLD_'), '4194304');
      assert.ok(optionsOf(started.server).includes('--max-semi-space-size=8'), optionsOf(started.server).join(' '));
      assert.equal((await fetch(`${started.adminUrl}/healthz`)).status, 200);
    } finally {
      started.launcher.kill('SIGTERM');
      await started.exited;
    }
  });

  it('stops the server when its launcher is killed outright', { skip: inPlace && 'the launcher is the server here' }, async () => {
    const started = await startThroughBin(withoutAllocatorSettings());
    assert.notEqual(started.server, started.launcher.pid);
    started.launcher.kill('SIGKILL');
    await started.exited;
    assert.ok(await gone(started.server, 15_000), 'the server stopped by itself');
  });
});
