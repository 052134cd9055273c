import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPictorError } from '../../src/errors.ts';
import { parseParams } from '../../src/render/params.ts';

function rejects(query: string, pointer: string): void {
  assert.throws(
    () => parseParams(query),
    (error: unknown) => {
      assert.ok(isPictorError(error), 'a PictorError');
      assert.equal(error.code, 'INVALID_PARAMETER');
      assert.equal(error.status, 400);
      assert.equal(error.pointer, pointer);
      assert.match(error.message, new RegExp(`^${pointer} `), 'the message names the parameter');
      return true;
    },
  );
}

describe('parseParams: canonical form', () => {
  it('is the same for aliases, order, Base64 and ixlib/s/unknown parameters', () => {
    const expected = parseParams('w=400&h=300').canonical;
    assert.equal(expected, 'h=300&w=400');
    for (const query of ['h=300&width=400', 'w64=NDAw&h=300', 'height64=MzAw&w=400', 'ixlib=js-3.8.0&w=400&h=300', 'w=400&h=300&s=0123456789abcdef0123456789abcdef', 'w=400&foo=bar&h=300']) {
      assert.equal(parseParams(query).canonical, expected, query);
    }
  });

  it('resolves the manifest aliases (f, or, mono, inv, fillcolor, …)', () => {
    const { params } = parseParams('f=crop&w=10&h=10&or=90&mono=f00&inv=true&max-width=5');
    assert.equal(params.fit, 'crop');
    assert.equal(params.orient, 6);
    assert.deepEqual(params.monochrome, { r: 255, g: 0, b: 0, a: 255 });
    assert.equal(params.invert, true);
    assert.equal(params['max-w'], 5);
  });

  it('drops values equal to imgix defaults and parameters whose dependencies are missing', () => {
    assert.equal(parseParams('w=400&fit=clip&dpr=1&q=75&bri=0&rot=360').canonical, 'w=400');
    assert.equal(parseParams('dpr=2').canonical, '', 'dpr needs w or h');
    assert.equal(parseParams('w=400&crop=top').canonical, 'w=400', 'crop needs fit=crop');
    assert.equal(parseParams('w=400&h=300&fit=crop&crop=faces,top,left').canonical, parseParams('h=300&crop=left,top,faces&fit=crop&w=400').canonical);
    assert.equal(parseParams('w=400&h=300&bg=0fff').canonical, 'h=300&w=400', 'a transparent bg is the default');
  });

  it('keeps q=75 when auto=compress would otherwise lower it', () => {
    assert.equal(parseParams('auto=compress&q=75').canonical, 'auto=compress&q=75');
  });

  it('merges repeated auto values', () => {
    const merged = parseParams('auto=format&auto=compress');
    assert.deepEqual(merged.params.auto, ['compress', 'format']);
    assert.equal(merged.canonical, parseParams('auto=format,compress').canonical);
  });

  it('is itself a query that parses back to the same canonical string', () => {
    for (const query of ['w=0.5&h=200&fit=crop&ar=16:9&crop=focalpoint&fp-x=0.3&fp-z=2', 'rect=left,0.25,0.5,100&rot=-90&hue=370', 'bg=80ff0000&pad=10&pad-left=3&mono=imgixorange', 'w=1', 'fit=facearea,fill&fill-color=red&w=10&h=20&facepad=2&faceindex=2', 'fit=crop&crop=faces,entropy&w=5&h=5&face-blur=20', 'fm=json&faces=1']) {
      const { canonical } = parseParams(query);
      assert.equal(parseParams(canonical).canonical, canonical, query);
    }
  });

  it('keeps expires out of canonical and returns it', () => {
    const parsed = parseParams('w=400&expires=1700000000');
    assert.equal(parsed.expires, 1700000000);
    assert.equal(parsed.canonical, 'w=400');
  });

  it('decodes + as a space and percent-escapes', () => {
    assert.equal(parseParams('w=%34%30%30').params.w, 400);
    rejects('w=4+0', 'w');
  });

  it('reports known but unrendered parameters as ignored', () => {
    const parsed = parseParams('w=10&txt=hello&bg-remove=true&mark64=aHR0cHM6Ly9hc3NldHMuaW1naXgubmV0L2xvZ28ucG5n&ch=dpr');
    assert.deepEqual(parsed.ignored, ['bg-remove']);
    assert.deepEqual(parsed.hints, ['dpr'], 'ch is applied by the delivery layer');
    assert.equal(parsed.canonical, 'mark=https://assets.imgix.net/logo.png&txt=hello&w=10', 'mark and txt are rendered now');
  });
});

describe('parseParams: values', () => {
  it('reads w/h as pixels or as a fraction of the source (w=1 is 100 %)', () => {
    assert.equal(parseParams('w=400').params.w, 400);
    assert.equal(parseParams('w=0.5').params.w, 0.5);
    assert.equal(parseParams('w=1').params.w, 1);
  });

  it('normalises colours: 3/6 digits RGB, 4/8 digits ARGB, keywords', () => {
    assert.deepEqual(parseParams('bg=f00').params.bg, { r: 255, g: 0, b: 0, a: 255 });
    assert.deepEqual(parseParams('bg=8f00').params.bg, { r: 255, g: 0, b: 0, a: 0x88 });
    assert.deepEqual(parseParams('bg=80336699').params.bg, { r: 0x33, g: 0x66, b: 0x99, a: 0x80 });
    assert.deepEqual(parseParams('bg=navy').params.bg, { r: 0, g: 0, b: 128, a: 255 });
    assert.ok(parseParams('bg=imgixblue').params.bg);
    assert.equal(parseParams('bg=8f00').canonical, 'bg=88ff0000');
  });

  it('clamps suggested ranges instead of rejecting', () => {
    const { params } = parseParams('w=100&bri=500&blur=99999&sat=-300&dpr=0.1');
    assert.equal(params.bri, 100);
    assert.equal(params.blur, 2000);
    assert.equal(params.sat, -100);
    assert.equal(params.dpr, 0.75);
  });

  it('wraps rot and hue around 360°', () => {
    assert.equal(parseParams('rot=-90').params.rot, 270);
    assert.equal(parseParams('hue=370').params.hue, 10);
  });

  it('maps orient degree aliases to EXIF values', () => {
    assert.equal(parseParams('orient=90').params.orient, 6);
    assert.equal(parseParams('orient=180').params.orient, 3);
    assert.equal(parseParams('orient=270').params.orient, 8);
    assert.equal(parseParams('orient=0').params.orient, 1);
  });

  it('never fails on s, ixlib, unknown names, auto64 or empty values', () => {
    assert.equal(parseParams('s=x&ixlib=php-1&whatever=1&auto64=Zm9ybWF0&w=').canonical, '');
  });

  it('returns only fm for fm=json (metadata does not depend on other parameters)', () => {
    assert.equal(parseParams('fm=json&w=300&bri=10').canonical, 'fm=json');
  });
});

describe('parseParams: 400 errors name the parameter', () => {
  it('rejects a non-number w', () => rejects('w=abc', 'w'));
  it('rejects w outside the strict range', () => rejects('w=99999', 'w'));
  it('rejects w=0', () => rejects('w=0', 'w'));
  it('rejects an unknown fit', () => rejects('fit=nope', 'fit'));
  it('rejects padded Base64', () => rejects('w64=NDAw=', 'w64'));
  it('rejects the standard Base64 alphabet', () => rejects('txt64=a%2Fb', 'txt64'));
  it('rejects dpr above its strict maximum', () => rejects('dpr=6', 'dpr'));
  it('rejects bad colours', () => rejects('bg=xyz', 'bg'));
  it('rejects a malformed rect', () => rejects('rect=1,2,3', 'rect'));
  it('rejects an unknown auto value', () => rejects('auto=foo', 'auto'));
  it('rejects a bad expires', () => rejects('expires=soon', 'expires'));
  it('rejects broken percent-encoding', () => rejects('w=%E0%A4%A', 'w'));
  it('validates known parameters it does not render', () => rejects('mark-w=99999', 'mark-w'));
});
