import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { isPictorError } from '../../src/errors.ts';
import { RENDER_PROCESS_BYTES } from '../../src/render/cost.ts';
import { DEFAULT_RETIRE_ABOVE_BYTES, IsolatedRenderer, renderProcessOptions } from '../../src/render/isolated-renderer.ts';
import { parseParams } from '../../src/render/params.ts';
import { prepareRender } from '../../src/render/pipeline.ts';
import { eventually, solidImage } from '../helpers/pictor.ts';
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

/** A field of /proc/<pid>/status in bytes (VmHWM: peak resident memory; VmRSS: now). */
function procBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** The pid of the renderer's one render process. */
function onlyProcess(renderer: IsolatedRenderer): number {
  const all = [...(renderer as unknown as { all: Set<{ child: { pid: number } }> }).all];
  assert.equal(all.length, 1);
  return all[0]!.child.pid;
}

describe('Render processes and memory', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  const options = { acceptClass: '', maxInputPixels: 100_000_000, timeoutSeconds: 120 };
  // A text layer grown far beyond its ink by an outline and a shadow (both scaled by dpr=5): a 4000² output.
  const textQuery = 'w=800&h=800&fit=fill&dpr=5&txt=%E2%96%88%E2%96%88%E2%96%88%E2%96%88&txt-size=100000&txt-line=100&txt-shad=1000&fm=png';

  it('the estimate covers what the render process really holds for a large text layer', async () => {
    const renderer = new IsolatedRenderer({ threads: 1, idleMs: 60_000, retireAboveBytes: Number.POSITIVE_INFINITY });
    try {
      const input = await solidImage(1600, 1067, [90, 120, 200]);
      const params = parseParams(textQuery).params;
      await renderer.render(await solidImage(40, 40, [1, 2, 3]), parseParams('w=20').params, options); // started, warm
      const pid = onlyProcess(renderer);
      const before = procBytes(pid, 'VmRSS');
      const { cost } = await prepareRender(input, params, options);
      const result = await renderer.render(input, params, options);
      assert.deepEqual([result.width, result.height], [4000, 4000]);
      const held = procBytes(pid, 'VmHWM') - before;
      assert.ok(held > 150 * 1024 * 1024, `the render really is large: ${held} bytes`);
      assert.ok(cost.bytes - RENDER_PROCESS_BYTES >= held, `estimated ${cost.bytes - RENDER_PROCESS_BYTES} bytes beside the process, measured ${held}`);
    } finally {
      await renderer.close();
    }
  });

  it('a render process left holding much memory after a job exits at once; one that stayed small is kept', async () => {
    const renderer = new IsolatedRenderer({ threads: 1, idleMs: 60_000 });
    try {
      await renderer.render(await solidImage(40, 40, [1, 2, 3]), parseParams('w=20').params, options);
      const small = onlyProcess(renderer);
      assert.ok(procBytes(small, 'VmRSS') < DEFAULT_RETIRE_ABOVE_BYTES);
      await renderer.render(await solidImage(1600, 1067, [90, 120, 200]), parseParams(textQuery).params, options);
      // It reported more than DEFAULT_RETIRE_ABOVE_BYTES with its answer, and was told to exit.
      await eventually(() => !isAlive(small), 10_000);
      assert.equal(renderer.size, 0, 'no render process idles with the memory of the last render');
      await renderer.render(await solidImage(40, 40, [1, 2, 3]), parseParams('w=20').params, options);
      assert.equal(renderer.size, 1, 'the next heavy render starts a fresh one, which stays');
    } finally {
      await renderer.close();
    }
  });
});

describe('Render process options', () => {
  it("take the server's young-generation size and nothing else of its options; tsx only from the sources", () => {
    assert.deepEqual(renderProcessOptions(['--max-semi-space-size=8', '--inspect=0', '--enable-source-maps'], false), ['--max-semi-space-size=8']);
    assert.deepEqual(renderProcessOptions(['--inspect=0'], false), []);
    const fromSources = renderProcessOptions(['--max-semi-space-size=8'], true);
    assert.deepEqual(fromSources.slice(0, 2), ['--max-semi-space-size=8', '--import']);
    assert.match(fromSources[2]!, /tsx/);
  });
});
