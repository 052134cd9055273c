import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RenderAdmission } from '../../src/delivery/render-admission.ts';
import { HEAVY_RENDER_BYTES, MAX_RENDER_SECONDS } from '../../src/render/cost.ts';
import { isPictorError } from '../../src/errors.ts';

const MB = 1024 * 1024;
const light = { bytes: 10 * MB, heavy: false, seconds: 0 };
const heavy = (mb: number, seconds = 0) => ({ bytes: mb * MB, heavy: true, seconds });

/** A task that runs until released, recording when it started. */
function held(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { task: async () => { log.push(`start ${name}`); await done; log.push(`end ${name}`); }, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('RenderAdmission', () => {
  const options = { lightConcurrency: 2, heavyConcurrency: 2, memoryBytes: 2 * HEAVY_RENDER_BYTES + 1000 * MB, queueLimit: 10, heavyQueueLimit: 2 };

  it('reserves the light lane: the heavy budget is what is left of --render-memory', () => {
    assert.equal(new RenderAdmission(options).heavyBudget, 1000 * MB);
  });

  it('heavy renders share the heavy budget first come first served; light renders never wait for them', async () => {
    const admission = new RenderAdmission(options);
    const log: string[] = [];
    const a = held(log, 'heavy-600');
    const b = held(log, 'heavy-500');
    const c = held(log, 'light');
    const runs = [admission.run(heavy(600), a.task), admission.run(heavy(500), b.task)];
    await tick();
    assert.deepEqual(log, ['start heavy-600'], 'the second heavy render waits for memory');
    assert.equal(admission.depth, 1);
    const lightRun = admission.run(light, c.task);
    await tick();
    assert.deepEqual(log, ['start heavy-600', 'start light'], 'a light render starts although a heavy one is waiting');
    c.release();
    await lightRun;
    a.release();
    await runs[0];
    await tick();
    assert.ok(log.includes('start heavy-500'), 'the waiting heavy render starts once memory is released');
    b.release();
    await Promise.all(runs);
    assert.equal(admission.bytesInUse, 0);
  });

  it('a render estimated to take longer than MAX_RENDER_SECONDS is refused at once with 413 naming the limit', async () => {
    const admission = new RenderAdmission(options);
    await assert.rejects(
      admission.run(heavy(100, MAX_RENDER_SECONDS + 1), async () => assert.fail('it must not run')),
      (error) => isPictorError(error) && error.status === 413 && new RegExp(`about ${MAX_RENDER_SECONDS + 1} s of work, more than the ${MAX_RENDER_SECONDS} s`).test(error.message),
    );
    await admission.run(heavy(100, MAX_RENDER_SECONDS), async () => {});
  });

  it('a render that could never fit is refused at once with 413; a full heavy queue with 503 and Retry-After', async () => {
    const admission = new RenderAdmission(options);
    await assert.rejects(admission.run(heavy(1001), async () => {}), (error) => isPictorError(error) && error.status === 413 && /--render-memory/.test(error.message));
    const log: string[] = [];
    const first = held(log, 'first');
    const running = admission.run(heavy(900), first.task);
    const waiting = [admission.run(heavy(900), async () => {}), admission.run(heavy(900), async () => {})];
    await assert.rejects(admission.run(heavy(900), async () => {}), (error) => isPictorError(error) && error.status === 503 && error.headers?.['retry-after'] === '5');
    first.release();
    await Promise.all([running, ...waiting]);
  });

  it('releases memory when a render fails', async () => {
    const admission = new RenderAdmission(options);
    await assert.rejects(admission.run(heavy(800), async () => { throw new Error('boom'); }));
    assert.equal(admission.bytesInUse, 0);
    await admission.run(heavy(800), async () => {});
  });
});
