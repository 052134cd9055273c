import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptClass, variesOnAccept } from '../../src/render/negotiate.ts';
import { parseParams } from '../../src/render/params.ts';

const CHROME = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';

describe('acceptClass', () => {
  const auto = parseParams('auto=format').params;

  it('is empty without auto=format, whatever the header', () => {
    assert.equal(acceptClass(parseParams('w=10').params, CHROME), '');
    assert.equal(variesOnAccept(parseParams('auto=compress').params), false);
  });

  it('prefers AVIF, then WebP, else none', () => {
    assert.equal(acceptClass(auto, CHROME), 'avif');
    assert.equal(acceptClass(auto, 'image/webp,*/*'), 'webp');
    assert.equal(acceptClass(auto, 'image/png,image/*;q=0.8,*/*;q=0.5'), 'none');
    assert.equal(acceptClass(auto, undefined), 'none');
    assert.equal(variesOnAccept(auto), true);
  });

  it('depends only on AVIF/WebP acceptance (q=0 means refused; wildcards do not count)', () => {
    assert.equal(acceptClass(auto, 'IMAGE/AVIF;q=0.9, text/html'), 'avif');
    assert.equal(acceptClass(auto, 'image/avif;q=0,image/webp'), 'webp');
    assert.equal(acceptClass(auto, 'image/avif;q=0, image/webp;q=0, */*'), 'none');
    assert.equal(acceptClass(auto, 'image/webp'), acceptClass(auto, 'text/html,image/webp;q=0.5,application/xml'));
  });

  it('does not vary for data outputs', () => {
    assert.equal(acceptClass(parseParams('auto=format&fm=blurhash').params, CHROME), '');
  });
});
