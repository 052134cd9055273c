import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { contentDisposition } from '../../src/delivery/content-disposition.ts';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

describe('dl: Content-Disposition names', () => {
  it('keeps a plain name, with the extension of the format served', () => {
    assert.equal(contentDisposition('holiday.png', 'image/jpeg', '/a.jpg'), `attachment; filename="holiday.jpg"; filename*=UTF-8''holiday.jpg`);
  });

  it('strips folders, quotes, control and bidi characters; UTF-8 goes into filename*', () => {
    const header = contentDisposition('../../etc/pa"ss\r\nwd\u202Egpj.exe', 'image/webp', '/a.jpg');
    assert.match(header, /^attachment; filename="[^"\\\r\n\u202E]*\.webp"; filename\*=UTF-8''[A-Za-z0-9%._~!-]+$/);
    assert.ok(!header.includes('/') || header.indexOf('/') === -1);
    const utf8 = contentDisposition('été 東京', 'image/png', '/a.jpg');
    assert.equal(utf8, `attachment; filename="ete.png"; filename*=UTF-8''${encodeURIComponent('été 東京.png')}`);
  });

  it('falls back to the asset\'s name, then to "download"', () => {
    assert.match(contentDisposition('...', 'image/png', '/photos/my%20cat.jpg'), /filename="my cat\.png"/);
    assert.match(contentDisposition('東京', 'image/png', '/x.jpg'), /filename="download\.png"; filename\*=UTF-8''%E6%9D%B1%E4%BA%AC\.png/);
  });
});

describe('Output headers over HTTP', () => {
  let t: TestPictor;
  before(async () => {
    t = await startPictor({ assets: { 'photo.jpg': await solidImage(400, 300, [10, 120, 200]) } });
  });
  after(() => t.stop());

  it('dl answers as an attachment named after the output format; the cache entry is shared', async () => {
    const plain = await rawGet(t.renderPort, '/photo.jpg?w=50&fm=png');
    assert.equal(plain.headers['content-disposition'], undefined);
    const download = await rawGet(t.renderPort, '/photo.jpg?w=50&fm=png&dl=My%20Photo.jpg');
    assert.equal(download.status, 200);
    assert.equal(download.headers['content-disposition'], `attachment; filename="My Photo.png"; filename*=UTF-8''My%20Photo.png`);
    assert.match(String(download.headers['cache-status']), /hit/, 'dl does not change the derivative');
    assert.equal(download.headers.etag, plain.headers.etag);
  });

  it('names recognised parameters that were not applied in X-Pictor-Unsupported, on misses and hits alike', async () => {
    for (let i = 0; i < 2; i++) {
      const response = await rawGet(t.renderPort, '/photo.jpg?w=60&bg-remove=true&upscale=true&video-codec=h264');
      assert.equal(response.status, 200);
      assert.equal(response.headers['x-pictor-unsupported'], 'bg-remove, upscale, video-codec');
      const { width } = await sharp(response.body).metadata();
      assert.equal(width, 60, 'the image without the effect, as imgix\'s fallback');
    }
    const same = await rawGet(t.renderPort, '/photo.jpg?w=60');
    assert.equal(same.headers['x-pictor-unsupported'], undefined, 'the shared derivative does not carry it');
    assert.match(String(same.headers['cache-status']), /hit/);
  });

  it('ch: Width and DPR headers change the width; Accept-CH and Vary name the hints used', async () => {
    const none = await rawGet(t.renderPort, '/photo.jpg?w=100&ch=Width,DPR');
    assert.equal((await sharp(none.body).metadata()).width, 100);
    assert.equal(none.headers['accept-ch'], 'Sec-CH-Width, Width, Sec-CH-DPR, DPR');
    assert.equal(none.headers.vary, 'Sec-CH-Width, Width, Sec-CH-DPR, DPR');

    const width = await rawGet(t.renderPort, '/photo.jpg?w=100&ch=Width,DPR', { 'sec-ch-width': '240', 'sec-ch-dpr': '2' });
    assert.equal((await sharp(width.body).metadata()).width, 240, 'Width is in device pixels: DPR is not applied again');
    const dpr = await rawGet(t.renderPort, '/photo.jpg?w=100&ch=Width,DPR', { dpr: '1.5' });
    assert.equal((await sharp(dpr.body).metadata()).width, 150);
    const ignored = await rawGet(t.renderPort, '/photo.jpg?w=100&ch=DPR', { width: '300' });
    assert.equal((await sharp(ignored.body).metadata()).width, 100, 'a hint ch does not name is not used');
    assert.equal(ignored.headers.vary, 'Sec-CH-DPR, DPR');
    const junk = await rawGet(t.renderPort, '/photo.jpg?w=100&ch=Width', { width: 'huge' });
    assert.equal(junk.status, 200);
    assert.equal((await sharp(junk.body).metadata()).width, 100);
    const huge = await rawGet(t.renderPort, '/photo.jpg?w=100&ch=Width', { width: '99999999' });
    assert.equal((await sharp(huge.body).metadata()).width, 8192, 'clamped to the output limit');

    // A hinted render is keyed as the URL with the value written out.
    const written = await rawGet(t.renderPort, '/photo.jpg?w=240');
    assert.equal(written.headers.etag, width.headers.etag);
    assert.match(String(written.headers['cache-status']), /hit/);
  });

  it('ch=save-data lowers the quality only when the header says on', async () => {
    const query = '/photo.jpg?w=300&fm=webp&ch=Save-Data';
    const normal = await rawGet(t.renderPort, query);
    const saving = await rawGet(t.renderPort, query, { 'save-data': 'on' });
    assert.equal(saving.headers.vary, 'Save-Data');
    assert.notEqual(saving.headers.etag, normal.headers.etag);
    const q45 = await rawGet(t.renderPort, '/photo.jpg?w=300&fm=webp&q=45');
    assert.equal(q45.headers.etag, saving.headers.etag, 'Save-Data renders exactly as q=45');
  });

  it('fm=jp2 answers 400 with a message', async () => {
    const response = await rawGet(t.renderPort, '/photo.jpg?fm=jp2');
    assert.equal(response.status, 400);
    assert.match(response.body.toString(), /JPEG 2000/);
  });

  it('applies the Source\'s default_params; the request overrides them; ch cannot be one', async () => {
    const patch = await fetch(`${t.adminUrl}/api/v1/sources/${t.defaultSourceId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
      body: JSON.stringify({ data: { type: 'sources', id: t.defaultSourceId, attributes: { deployment: { default_params: { w: '80', fm: 'png', ch: 'width' } } } } }),
    });
    assert.equal(patch.status, 200, await patch.text());
    const defaulted = await rawGet(t.renderPort, '/photo.jpg', { width: '300' });
    assert.equal(defaulted.headers['content-type'], 'image/png');
    assert.equal((await sharp(defaulted.body).metadata()).width, 80);
    assert.equal(defaulted.headers['accept-ch'], undefined);
    const overridden = await rawGet(t.renderPort, '/photo.jpg?w=30');
    assert.equal((await sharp(overridden.body).metadata()).width, 30);
    assert.equal(overridden.headers['content-type'], 'image/png');
  });
});
