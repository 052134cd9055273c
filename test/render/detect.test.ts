import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { contentTypeFor, detectImageFormat } from '../../src/render/detect.ts';

describe('detectImageFormat', () => {
  it('recognises what sharp writes', async () => {
    const base = sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } });
    for (const [format, expected] of [['jpeg', 'jpeg'], ['png', 'png'], ['webp', 'webp'], ['gif', 'gif'], ['tiff', 'tiff'], ['avif', 'avif']] as const) {
      const bytes = await base.clone().toFormat(format).toBuffer();
      assert.equal(detectImageFormat(bytes), expected, format);
    }
  });

  it('recognises SVG after an XML declaration, comments and a doctype', () => {
    const svg = '\uFEFF<?xml version="1.0"?>\n<!-- x -->\n<!DOCTYPE svg [ <!ENTITY a "b"> ]>\n<svg xmlns="http://www.w3.org/2000/svg"/>';
    assert.equal(detectImageFormat(Buffer.from(svg)), 'svg');
    assert.equal(detectImageFormat(Buffer.from('<svg width="1" height="1"></svg>')), 'svg');
  });

  it('returns null for other files, including HTML with inline SVG', () => {
    for (const text of ['<!doctype html><html><svg></svg></html>', '%PDF-1.7', '{"a":1}', '', 'GIF8']) {
      assert.equal(detectImageFormat(Buffer.from(text)), null, text);
    }
    const heic = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypheic\0\0\0\0mif1heic')]);
    assert.equal(detectImageFormat(heic), null);
  });

  it('maps formats to content types', () => {
    assert.equal(contentTypeFor('jpeg'), 'image/jpeg');
    assert.equal(contentTypeFor('pjpg'), 'image/jpeg');
    assert.equal(contentTypeFor('png8'), 'image/png');
    assert.equal(contentTypeFor('svg'), 'image/svg+xml');
    assert.equal(contentTypeFor('json'), 'application/json');
    assert.match(contentTypeFor('blurhash'), /^text\/plain/);
  });
});
