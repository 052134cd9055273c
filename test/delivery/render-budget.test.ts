import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { FILTER_BOMB_SVG } from '../render/fixtures.ts';
import { buildPdf } from '../render/pdf-fixtures.ts';

describe('Renders are budgeted: admitted by estimated memory, heavy ones stopped at the deadline', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({
      assets: { 'photo.jpg': await solidImage(400, 300, [200, 40, 40]), 'bomb.svg': FILTER_BOMB_SVG, 'grain.jpg': await grain(1500) },
      options: { renderTimeoutSeconds: '2' },
    });
  });
  after(() => t.stop());

  it('a render that would need more than --render-memory allows is refused with 413 before anything is rendered', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?w=8192&h=8192&fit=fill&pad=4000&fm=avif');
    assert.equal(response.status, 413);
    assert.match(response.body.toString(), /would need about \d\.\d GB of memory.*--render-memory/);
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    assert.doesNotMatch(metrics, /pictor_render_duration_seconds_count\{format="avif"\}/, 'nothing was rendered');
  });

  it('a 195-byte SVG that asks for a huge blur: refused at sizes that would take too long, stopped at the render timeout at one it may have', async () => {
    const whole = await rawGet(t.renderPort, '/bomb.svg');
    assert.equal(whole.status, 413);
    assert.match(whole.body.toString(), /would need about \d\.\d GB of memory/);
    const slow = await rawGet(t.renderPort, '/bomb.svg?w=4000');
    assert.equal(slow.status, 413);
    assert.match(slow.body.toString(), /would take about \d+ s of work, more than the 10 s one render may take/);
    const order: string[] = [];
    // Estimated just under 10 s of work: admitted, and far longer than the 2 s render timeout of this server.
    const bomb = rawGet(t.renderPort, '/bomb.svg?w=2800').then((response) => {
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

  it('an encode that would take longer than a render may is refused with 413 before anything is rendered', async () => {
    for (const target of ['/photo.jpg?w=4000&h=4000&fit=fill&fm=avif', '/grain.jpg?w=8192&fm=gif', '/grain.jpg?w=8192&fm=webp']) {
      const response = await rawGet(t.renderPort, target);
      assert.equal(response.status, 413, target);
      assert.match(response.body.toString(), /would take about \d+ s of work, more than the 10 s one render may take/, target);
    }
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    assert.doesNotMatch(metrics, /pictor_render_duration_seconds_count\{format="(avif|gif|webp)"\}/, 'nothing was rendered');
  });

  it('memory held by renders is back to zero once they are done', async () => {
    const metrics = await (await fetch(`${t.adminUrl}/metrics`)).text();
    assert.match(metrics, /^pictor_render_memory_bytes 0$/m);
  });
});

/** A width × height image of random colours (and alphas) in blocks: large in pixels, small as a file. */
function blocks(width: number, height: number, channels: 3 | 4): Sharp {
  const noise = { type: 'gaussian' as const, mean: 128, sigma: 60 };
  return sharp({ create: { width: 64, height: 64, channels, background: '#808080', noise } }).resize(width, height, { kernel: 'nearest' });
}

describe('The most expensive requests reported: refused up front, or rendered within the budget', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({
      assets: {
        'sunset.jpg': await readFile(new URL('../../assets/sunset.jpg', import.meta.url)),
        'blend-10k.png': await blocks(10_000, 10_000, 4).png().toBuffer(),
        'mark-7k-16.png': await blocks(7000, 7000, 4).toColourspace('rgb16').png().toBuffer(),
        'base-10k.png': await blocks(10_000, 10_000, 3).png().toBuffer(),
        'blend-8k.png': await blocks(8192, 8192, 4).png().toBuffer(),
        'mark-8k.png': await blocks(8192, 8192, 4).png().toBuffer(),
        'pages-20000.pdf': buildPdf(Array.from({ length: 20_000 }, (_, i) => ({ width: 800, height: 400, fill: [i % 2, 0.5, 0.2] as const }))),
      },
      // The default on two cores: 3 × 64 MB reserved for light renders, 832 MB for one heavy render.
      options: { renderConcurrency: '3', renderMemoryBytes: '1gb' },
    });
  });
  after(() => t.stop());

  const refused = async (target: string, reason: RegExp): Promise<void> => {
    const response = await rawGet(t.renderPort, target);
    assert.equal(response.status, 413, response.body.toString());
    assert.match(response.body.toString(), reason);
  };

  it('an ellipse mask, a 10k² RGBA blend and a 7k² 16-bit mark over 8192² (1.9 GB measured): 413 naming --render-memory', async () => {
    await refused(
      '/sunset.jpg?w=8192&h=8192&fit=fill&mask=ellipse&blend=/blend-10k.png&blend-mode=multiply&mark=/mark-7k-16.png&mark-w=8192&fm=png',
      /would need about 1\.\d GB of memory, more than the 832 MB available to one render \(--render-memory\)/,
    );
  });

  it('a 10k² base, an 8192² blend and a tiled 8192² mark (1 GB measured): 413 naming --render-memory', async () => {
    await refused('/base-10k.png?blend=/blend-8k.png&mark=/mark-8k.png&mark-tile=grid', /would need about 1\.\d GB of memory.*--render-memory/);
  });

  it('the same layers over an image they fit on are rendered', async () => {
    const response = await rawGet(t.renderPort, '/sunset.jpg?w=1024&h=1024&fit=fill&mask=ellipse&blend=/blend-10k.png&blend-mode=multiply&mark=/mark-7k-16.png&mark-w=1024&fm=png');
    assert.equal(response.status, 200, response.body.toString());
    assert.deepEqual([(await sharp(response.body).metadata()).width, (await sharp(response.body).metadata()).height], [1024, 1024]);
  });

  it('page 19999 of a 20,000-page PDF at w=8192: 413 naming the page limit', async () => {
    await refused('/pages-20000.pdf?page=19999&w=8192', /This PDF has 20000 pages, more than the limit of 10000/);
  });
});

/** A JPEG of pure grain, side² pixels: the slowest content for palette and WebP encoders. */
function grain(side: number): Promise<Buffer> {
  const noise = { type: 'gaussian' as const, mean: 128, sigma: 60 };
  return sharp({ create: { width: side, height: side, channels: 3, background: '#808080', noise } }).jpeg({ quality: 90 }).toBuffer();
}
