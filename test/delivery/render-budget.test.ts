import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { FILTER_BOMB_SVG } from '../render/fixtures.ts';

describe('Renders are budgeted: admitted by estimated memory, heavy ones stopped at the deadline', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({
      assets: { 'photo.jpg': await solidImage(400, 300, [200, 40, 40]), 'bomb.svg': FILTER_BOMB_SVG },
      options: { renderTimeoutSeconds: '2' },
    });
  });
  after(() => t.stop());

  it('a render that would need more than --render-memory allows is refused with 413 before anything is rendered', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?w=8192&h=8192&fit=fill&pad=4000&fm=avif');
    assert.equal(response.status, 413);
    assert.match(response.body.toString(), /would need about 1\.\d GB of memory.*--render-memory/);
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    assert.doesNotMatch(metrics, /pictor_render_duration_seconds_count\{format="avif"\}/, 'nothing was rendered');
  });

  it('a 195-byte SVG that asks for a huge blur: refused at its declared size, stopped at the render timeout at one it may have', async () => {
    const whole = await rawGet(t.renderPort, '/bomb.svg');
    assert.equal(whole.status, 413);
    assert.match(whole.body.toString(), /would need about \d\.\d GB of memory/);
    const order: string[] = [];
    const bomb = rawGet(t.renderPort, '/bomb.svg?w=5000').then((response) => {
      order.push('bomb');
      return response;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ordinary = await rawGet(t.renderPort, '/photo.jpg?w=123');
    order.push('ordinary');
    assert.equal(ordinary.status, 200);
    const stopped = await bomb;
    assert.deepEqual(order, ['ordinary', 'bomb']);
    assert.equal(stopped.status, 503);
    assert.match(stopped.body.toString(), /took too long/);
    assert.equal(stopped.headers['cache-control'], 'no-store');
    // The same SVG asked for at a size that is cheap to rasterise renders fine.
    const small = await rawGet(t.renderPort, '/bomb.svg?w=64&fm=png');
    assert.equal(small.status, 200);
    assert.equal(small.headers['content-type'], 'image/png');
  });

  it('memory held by renders is back to zero once they are done', async () => {
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    assert.match(metrics, /^pictor_render_memory_bytes 0$/m);
  });
});
