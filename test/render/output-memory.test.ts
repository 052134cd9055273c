/**
 * Render outputs own exactly their bytes. sharp's encoders write into a growable buffer whose allocation
 * is rounded up far beyond a small image; an output handed out as it is would keep all of it alive in the
 * memory tier, unseen by V8's accounting: only the process's resident memory outside V8's heap shows it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const PROBE = fileURLToPath(new URL('./output-memory-probe.ts', import.meta.url));

describe('render outputs', () => {
  it('cost about their own size to keep, however small they are', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    // Measured in a process of its own with one malloc arena: with an arena per thread, resident memory
    // follows which threads ran where, which a busy machine changes, more than it follows what is kept.
    // Outputs handed out as sharp makes them cost several times the bound; exact copies, well under it.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', PROBE], {
      env: { ...process.env, MALLOC_ARENA_MAX: '1', UV_THREADPOOL_SIZE: '1' },
    });
    const { perOutput, bodies } = JSON.parse(stdout) as { perOutput: number; bodies: number };
    assert.ok(perOutput < 8 * 1024, `each kept output of ${Math.round(bodies)} bytes costs ${Math.round(perOutput)} bytes of native memory`);
  });
});
