import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isPictorError } from '../../src/errors.ts';
import { IsolatedRenderer } from '../../src/render/isolated-renderer.ts';
import { parseParams } from '../../src/render/params.ts';
import { solidImage } from '../helpers/pictor.ts';
import { FILTER_BOMB_SVG } from './fixtures.ts';

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('IsolatedRenderer: renders in a separate process that the deadline kills', () => {
  const renderer = new IsolatedRenderer({ threads: 1, idleMs: 60_000 });
  after(() => renderer.close());
  const options = (timeoutSeconds: number) => ({ acceptClass: '', maxInputPixels: 100_000_000, timeoutSeconds });

  it('renders like the server process does, and keeps the process for the next render', async () => {
    const input = await solidImage(300, 200, [10, 200, 10]);
    const result = await renderer.render(input, parseParams('w=120&fm=webp').params, options(30));
    assert.equal(result.format, 'webp');
    assert.deepEqual([result.width, result.height], [120, 80]);
    assert.ok(Buffer.isBuffer(result.body) && result.body.length > 0);
    assert.equal(renderer.size, 1);
    await renderer.render(input, parseParams('w=60').params, options(30));
    assert.equal(renderer.size, 1, 'the same process rendered again');
  });

  it('an error of the input comes back with its code (a corrupt image is 422), and the process stays usable', async () => {
    const corrupt = (await solidImage(300, 200, [10, 10, 10])).subarray(0, 400);
    await assert.rejects(renderer.render(corrupt, parseParams('w=50').params, options(30)), (error) => isPictorError(error) && error.status === 422);
    await renderer.render(await solidImage(30, 20, [1, 2, 3]), parseParams('w=10').params, options(30));
  });

  it('a render past its deadline is stopped by killing its process: RENDER_TIMEOUT, the process is gone', async () => {
    const pids = new Set<number>();
    const spy = setInterval(() => {
      for (const proc of (renderer as unknown as { all: Set<{ child: { pid: number } }> }).all) pids.add(proc.child.pid);
    }, 5);
    try {
      await assert.rejects(renderer.render(FILTER_BOMB_SVG, parseParams('').params, options(1)), (error) => isPictorError(error) && error.code === 'RENDER_TIMEOUT');
    } finally {
      clearInterval(spy);
    }
    assert.ok(pids.size > 0);
    for (const pid of pids) assert.equal(isAlive(pid), false, `render process ${pid} still runs`);
    // A new process takes the next render.
    const again = await renderer.render(await solidImage(40, 40, [200, 0, 0]), parseParams('w=20').params, options(30));
    assert.equal(again.width, 20);
  });
});
