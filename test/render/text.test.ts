import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isPictorError } from '../../src/errors.ts';
import { IsolatedRenderer } from '../../src/render/isolated-renderer.ts';
import { parseParams } from '../../src/render/params.ts';
import { prepareRender } from '../../src/render/pipeline.ts';
import { MAX_TEXT_LENGTH } from '../../src/render/text-params.ts';
import { useBundledFonts } from '../../src/render/text/fonts.ts';
import { OPTIONS, pixels, renderQuery, solid, type Pixels } from './fixtures.ts';

const WHITE = [255, 255, 255];
const enc = encodeURIComponent;

interface Box { left: number; top: number; right: number; bottom: number; width: number; height: number; count: number }

/** The bounding box of pixels that differ from `background` by more than 60 in some channel. */
function inkBox(image: Pixels, background: readonly number[] = WHITE): Box | undefined {
  let left = Infinity, top = Infinity, right = -1, bottom = -1, count = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const px = image.at(x, y);
      if (background.some((v, i) => Math.abs(px[i]! - v) > 60)) {
        count++;
        left = Math.min(left, x); top = Math.min(top, y); right = Math.max(right, x); bottom = Math.max(bottom, y);
      }
    }
  }
  return count === 0 ? undefined : { left, top, right, bottom, width: right - left + 1, height: bottom - top + 1, count };
}

async function ink(query: string, width = 400, height = 300): Promise<{ box: Box | undefined; image: Pixels }> {
  const image = await pixels((await renderQuery(await solid(width, height, WHITE), `fm=png&${query}`)).body);
  return { box: inkBox(image), image };
}

async function inkWidth(query: string): Promise<number> {
  const { box } = await ink(query, 1600, 200);
  assert.ok(box, `${query} draws something`);
  return box.width;
}

describe('txt: text drawn over the image', () => {
  it('changes pixels inside its box at the default bottom-right corner, 10 px in, and nowhere else', async () => {
    const { box, image } = await ink('txt=Hello+Pictor&txt-size=30');
    assert.ok(box);
    assert.ok(Math.abs(image.width - 1 - box.right - 10) <= 1, `right edge ${box.right}`);
    assert.ok(Math.abs(image.height - 1 - box.bottom - 10) <= 1, `bottom edge ${box.bottom}`);
    assert.ok(box.height >= 18 && box.height <= 32, `a 30 px text is about 20–30 px tall, got ${box.height}`);
    assert.ok(box.left > 150 && box.top > 200, 'nothing drawn in the rest of the image');
    // The default colour is opaque black.
    const darkest = Math.min(...Array.from({ length: box.width }, (_, i) => image.at(box.left + i, box.top + Math.floor(box.height / 2))[0]!));
    assert.ok(darkest < 30);
  });

  it('aligns by txt-align and txt-pad, and txt-x/txt-y override the alignment', async () => {
    const topLeft = (await ink('txt=Hello&txt-size=30&txt-align=top,left')).box!;
    assert.ok(Math.abs(topLeft.left - 10) <= 2 && Math.abs(topLeft.top - 10) <= 2, `top-left at ${topLeft.left},${topLeft.top}`);
    const padded = (await ink('txt=Hello&txt-size=30&txt-align=left,top&txt-pad=40')).box!;
    assert.ok(Math.abs(padded.left - 40) <= 2 && Math.abs(padded.top - 40) <= 2);
    const centred = (await ink('txt=Hello&txt-size=30&txt-align=middle,center')).box!;
    assert.ok(Math.abs((centred.left + centred.right) / 2 - 200) <= 2 && Math.abs((centred.top + centred.bottom) / 2 - 150) <= 2);
    const placed = (await ink('txt=Hello&txt-size=30&txt-x=50&txt-y=120')).box!;
    assert.ok(Math.abs(placed.left - 50) <= 2 && Math.abs(placed.top - 120) <= 2, `x/y at ${placed.left},${placed.top}`);
  });

  it('draws in the colour asked for, with an outline and a shadow around the letters', async () => {
    const { box, image } = await ink('txt=HHHH&txt-size=60&txt-color=f00&txt-align=middle,center');
    assert.ok(box);
    const row = Array.from({ length: box.width }, (_, i) => image.at(box.left + i, Math.floor((box.top + box.bottom) / 2)));
    assert.ok(row.some((px) => px[0]! > 200 && px[1]! < 50 && px[2]! < 50), 'red ink');

    const plain = (await ink('txt=HHHH&txt-size=60&txt-align=middle,center')).box!;
    const outlined = await ink('txt=HHHH&txt-size=60&txt-align=middle,center&txt-line=4&txt-line-color=00f');
    assert.ok(Math.abs(outlined.box!.width - (plain.width + 8)) <= 2, 'the outline adds its width on both sides');
    const edge = outlined.image.at(outlined.box!.left + 1, Math.floor((outlined.box!.top + outlined.box!.bottom) / 2));
    assert.ok(edge[2]! > 150 && edge[0]! < 100, `blue outline, got ${edge.join(',')}`);

    const shadowed = (await ink('txt=HHHH&txt-size=60&txt-align=middle,center&txt-shad=8')).box!;
    assert.ok(shadowed.right > plain.right && shadowed.bottom > plain.bottom, 'the shadow falls below and to the right');
  });

  it('uses the intended face: monospaced, serif, bold and the default sans differ in width as they should', async () => {
    const narrow = (font: string) => inkWidth(`txt=iiiiiiiiii&txt-size=40&txt-align=middle,center${font}`);
    const wide = (font: string) => inkWidth(`txt=MMMMMMMMMM&txt-size=40&txt-align=middle,center${font}`);
    const monoRatio = (await wide('&txt-font=Courier')) / (await narrow('&txt-font=Courier'));
    const sansRatio = (await wide('')) / (await narrow(''));
    assert.ok(monoRatio < 1.3, `Courier is monospaced (M/i ${monoRatio.toFixed(2)})`);
    assert.ok(sansRatio > 2.5, `HelveticaNeue is proportional (M/i ${sansRatio.toFixed(2)})`);
    const text = 'txt=Hamburgefonstiv&txt-size=40&txt-align=middle,center';
    const sans = await inkWidth(text);
    assert.equal(await inkWidth(`${text}&txt-font=HelveticaNeue`), sans, 'HelveticaNeue is the default');
    assert.ok((await inkWidth(`${text}&txt-font=sans-serif,bold`)) > sans * 1.04, 'bold is wider');
    assert.notEqual(await inkWidth(`${text}&txt-font=Georgia`), sans, 'a serif face');
    assert.equal(await inkWidth(`${text}&txt-font=Arial-BoldMT`), await inkWidth(`${text}&txt-font=HelveticaNeue-Bold`));
  });

  it('renders Arabic, Hebrew and Japanese with real glyphs, not the boxes of characters no font has', async () => {
    // Characters no packaged font has are drawn as boxes: a real glyph's ink must differ from them.
    const tofu = (await ink(`txt=${enc('\uE000\uE001\uE002\uE003')}&txt-size=40&txt-align=top,left`)).image;
    for (const sample of ['العربية', 'שלום', '日本語です']) {
      const { image, box } = await ink(`txt=${enc(sample)}&txt-size=40&txt-align=top,left`);
      assert.ok(box);
      let differing = 0;
      for (let y = 0; y < 80; y++) {
        for (let x = 0; x < 300; x++) if ((image.at(x, y)[0]! < 128) !== (tofu.at(x, y)[0]! < 128)) differing++;
      }
      assert.ok(differing > box.count * 0.5, `${sample}: ${differing} pixels differ from the boxes (ink ${box.count})`);
    }
    // Shaping joins Arabic letters: the word is narrower than its letters drawn apart.
    const joined = await inkWidth(`txt=${enc('عربي')}&txt-size=40`);
    const apart = await inkWidth(`txt=${enc('ع ر ب ي')}&txt-size=40`);
    assert.ok(joined < apart * 0.8, `joined ${joined} vs apart ${apart}`);
    // Right to left: clipping the end of an Arabic line keeps its beginning, which is on the right.
    const full = (await ink(`txt=${enc('عربي عربي عربي عربي')}&txt-size=40&txt-align=middle,left`)).box!;
    const clipped = (await ink(`txt=${enc('عربي عربي عربي عربي')}&txt-size=40&txt-align=middle,left&txt-width=120`)).box!;
    assert.ok(clipped.width <= 120 && clipped.width < full.width);
  });

  it('draws markup literally: tags and entities are text', async () => {
    const letter = await inkWidth('txt=A&txt-size=40');
    assert.ok((await inkWidth(`txt=${enc('<b>A</b>')}&txt-size=40`)) > letter * 4, '<b> is drawn, not applied');
    assert.ok((await inkWidth(`txt=${enc('&amp;')}&txt-size=40`)) > (await inkWidth(`txt=${enc('&')}&txt-size=40`)) * 3);
    const { box } = await ink(`txt=${enc('</span><span font_size="99999999">x')}&txt-size=20`);
    assert.ok(box && box.height < 30, 'attributes in the text change nothing');
  });

  it('clips a text wider than its box by whole characters (txt-clip), or shrinks it (txt-fit=max)', async () => {
    const long = `txt=${enc('The quick brown fox jumps over the lazy dog')}&txt-size=40&txt-align=middle,left`;
    const full = (await ink(long, 1600, 200)).box!;
    assert.ok(full.width > 600);
    for (const clip of ['', '&txt-clip=start', '&txt-clip=middle,ellipsis', '&txt-clip=ellipsis']) {
      const { box } = await ink(`${long}&txt-width=300${clip}`, 1600, 200);
      assert.ok(box && box.width <= 300 && box.width > 200, `${clip}: ${box?.width}`);
      assert.ok(Math.abs(box.height - full.height) <= 1, 'same size, fewer letters');
    }
    const start = await ink(`${long}&txt-width=300`, 1600, 200);
    const end = await ink(`${long}&txt-width=300&txt-clip=start`, 1600, 200);
    assert.notDeepEqual(start.image.at(start.box!.left + 5, 100), end.image.at(start.box!.left + 5, 100).concat([1]), 'different letters kept');
    const fitted = (await ink(`${long}&txt-width=300&txt-fit=max`, 1600, 200)).box!;
    assert.ok(fitted.width <= 300 && fitted.width > 250 && fitted.height < full.height * 0.6, `fit: ${fitted.width}×${fitted.height}`);
    // Without txt-width, the box is the image less the padding.
    const small = (await ink(long)).box!;
    assert.ok(small.left >= 10 && small.right <= 389);
  });

  it('multiplies every length by dpr', async () => {
    const one = (await ink('w=400&txt=Hello&txt-size=20&txt-align=top,left')).box!;
    const two = (await ink('w=200&dpr=2&txt=Hello&txt-size=20&txt-align=top,left')).box!;
    assert.ok(Math.abs(two.width - 2 * one.width) <= 3 && Math.abs(two.left - 20) <= 2, `${one.width} → ${two.width} at ${two.left}`);
  });

  it('keeps alpha where the output has it, and flattens onto white where it does not', async () => {
    const transparent = await (await import('sharp')).default({ create: { width: 200, height: 100, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const png = await pixels((await renderQuery(transparent, 'fm=png&txt=HHH&txt-size=40&txt-align=middle,center')).body);
    assert.equal(png.channels, 4);
    assert.equal(png.at(0, 0)[3], 0, 'corner stays transparent');
    assert.equal(Math.max(...Array.from({ length: 200 }, (_, x) => png.at(x, 50)[3]!)), 255, 'the letters are opaque');
    const jpeg = await pixels((await renderQuery(await solid(200, 100, [0, 0, 255]), 'fm=jpg&txt=HHH&txt-size=40&txt-align=middle,center&txt-color=ff0')).body);
    const row = Array.from({ length: 200 }, (_, x) => jpeg.at(x, 50));
    assert.ok(row.some((px) => px[0]! > 200 && px[1]! > 200 && px[2]! < 80), 'yellow text on blue');
  });

  it('normalises equivalent spellings to one cache key and drops what cannot matter', () => {
    const canonical = (query: string) => parseParams(query).canonical;
    assert.equal(canonical('txt=Hi&txt-font=Arial-BoldMT'), canonical('txt=Hi&txt-font=sans-serif,bold'));
    assert.equal(canonical('txt=Hi&txt-font=HelveticaNeue-Bold'), 'txt=Hi&txt-font=sans-serif,bold');
    assert.equal(canonical('txt=Hi&txt-font=Georgia-BoldItalic'), 'txt=Hi&txt-font=serif,bold,italic');
    assert.equal(canonical('txt=Hi&txt-font=Menlo-Regular'), 'txt=Hi&txt-font=monospace');
    assert.equal(canonical('txt=Hi&txt-font=HelveticaNeue&txt-size=12&txt-pad=10&txt-color=000&txt-align=bottom,right&txt-clip=end&txt-lead=20'), 'txt=Hi');
    assert.equal(canonical('txt-size=40&txt-color=f00'), '', 'nothing without txt');
    assert.equal(canonical('txt=%20%20&txt-size=40'), '', 'blank text draws nothing');
    assert.equal(canonical('txt64=SGVsbG8gV29ybGQh'), 'txt=Hello%20World!');
    assert.equal(canonical('t=A%0AB%00C'), 'txt=A%20B%20C', 'one line: control characters become spaces');
    assert.equal(canonical('txt=Hi&txt-line-color=f00'), 'txt=Hi', 'an outline colour needs an outline');
    assert.equal(canonical('txt=Hi&tl=2&txt-line-color=fff'), 'txt=Hi&txt-line=2');
    assert.equal(canonical('txt=Hi&txt-x=0'), 'txt=Hi&txt-x=0', 'an explicit position replaces the alignment');
    for (const query of ['txt=A%26B&txt-font=serif,italic&txt-clip=start,ellipsis&txt-align=top,center&txt-color=80ff0000', 'txt=%E6%97%A5&txt-shad=2.5&txt-track=3']) {
      assert.equal(canonical(canonical(query)), canonical(query), 'the canonical form parses back to itself');
    }
  });

  it('refuses too long a text with a 400 that says why, and bounds every other hostile value', async () => {
    assert.throws(() => parseParams(`txt=${'a'.repeat(MAX_TEXT_LENGTH + 1)}`), (error) =>
      isPictorError(error) && error.status === 400 && error.pointer === 'txt' && /at most 500 characters/.test(error.message));
    assert.throws(() => parseParams('txt=Hi&txt-align=sideways'), (error) => isPictorError(error) && error.status === 400);
    parseParams(`txt=${'a'.repeat(MAX_TEXT_LENGTH)}`);
    const hostile = [
      `txt=${'W'.repeat(MAX_TEXT_LENGTH)}&txt-size=8192`,
      `txt=${'W'.repeat(MAX_TEXT_LENGTH)}&txt-size=8192&txt-fit=max`,
      `txt=a${enc('\u0301'.repeat(MAX_TEXT_LENGTH - 1))}&txt-size=400`,
      `txt=${'%E6%97%A5'.repeat(MAX_TEXT_LENGTH)}&txt-track=100000&txt-size=1`,
      `txt=${enc('\u200b\u200b')}&txt-size=40`,
      `txt=${enc('😀\u{10FFFF}\uFFFD\u202E\u0000')}&txt-size=40&txt-line=100000&txt-shad=100`,
      'txt=Hi&txt-size=100000&txt-pad=100000',
      'txt=Hi&txt-x=-99999999&txt-y=99999999',
      'txt=Hi&txt-width=1&txt-clip=middle,ellipsis',
    ];
    for (const query of hostile) {
      const result = await renderQuery(await solid(300, 200, WHITE), `fm=png&${query}`);
      assert.deepEqual([result.width, result.height], [300, 200], query.slice(0, 80));
    }
    const huge = (await ink(`txt=${'I'.repeat(50)}&txt-size=8192&txt-align=top,left`)).box!;
    assert.ok(huge.height <= 300, 'text never taller than the image');
  });

  it('charges the text layer in the render estimate at the size it is drawn, measured before the render', async () => {
    const input = await solid(2000, 2000, WHITE);
    const bytes = async (query: string) => (await prepareRender(input, parseParams(query).params, OPTIONS)).cost.bytes;
    const plain = await bytes('fm=jpg');
    const small = await bytes('fm=jpg&txt=Hi');
    const large = await bytes('fm=jpg&txt=Hi&txt-size=1500&txt-shad=10');
    // The image is materialised to draw the text on the pixels it covers (steps/overlay.ts drawOver): one RGBA
    // copy of it, and little besides for a small text.
    assert.ok(small - plain >= 4 * 2000 * 2000, `the image's copy is counted: ${small - plain}`);
    assert.ok(small - plain < 4 * 2000 * 2000 + 2000 * 2000, `a small text costs far less than another copy of the image: ${small - plain}`);
    // Ink of about 1500 × 1100 px: its layer painted as RGBA, and its mask, shadow and glyphs besides.
    assert.ok(large - plain > 4 * 1500 * 1000, `${large - plain}`);
  });

  it('uses only the fonts that ship with Pictor, in the render process too', async () => {
    const conf = readFileSync(useBundledFonts(), 'utf8');
    const dirs = [...conf.matchAll(/<dir>([^<]+)<\/dir>/g)].map((match) => match[1]!);
    assert.ok(dirs.length >= 4 && dirs.every((dir) => dir.includes('node_modules')), dirs.join(' '));
    assert.doesNotMatch(conf, /<include/);

    const query = 'fm=png&txt=Hello+%D8%B9%D8%B1%D8%A8%D9%8A+%E6%97%A5%E6%9C%AC&txt-size=30';
    const input = await solid(300, 100, WHITE);
    const here = await pixels((await renderQuery(input, query)).body);
    const saved = process.env.FONTCONFIG_FILE;
    delete process.env.FONTCONFIG_FILE; // the render process must set it up itself
    const renderer = new IsolatedRenderer({ threads: 1 });
    try {
      const there = await pixels((await renderer.render(input, parseParams(query).params, OPTIONS)).body);
      assert.deepEqual(inkBox(there), inkBox(here));
    } finally {
      process.env.FONTCONFIG_FILE = saved;
      await renderer.close();
    }
  });
});


/** One character per script Pictor covers; each must draw as a glyph, not as the hex box of a missing one. */
const SCRIPTS: Record<string, string> = {
  Latin: 'A', Greek: 'λ', Cyrillic: 'Ж', Arabic: 'ع', Hebrew: 'ש', Devanagari: 'क', Bengali: 'ক', Thai: 'ก',
  Han: '字', Kana: 'あ', 'Hangul 안': '안', 'Hangul 녕': '녕', emoji: '🍕',
};

/**
 * How much of the ink's bounding box outline is inked (within a pixel inwards), 0–1. A missing character is
 * drawn as a framed box with its code inside, so its outline is wholly inked; a real glyph's is mostly not.
 */
async function frameCoverage(text: string): Promise<number> {
  const { image, box } = await ink(`txt=${enc(text)}&txt-size=80&txt-align=middle,center`, 300, 200);
  assert.ok(box, `${text} draws something`);
  const inked = (x: number, y: number) => image.at(x, y)[0]! < 128;
  const inkedNear = (x: number, y: number, dx: number, dy: number) => [0, 1, 2].some((d) => inked(x + d * dx, y + d * dy));
  let on = 0;
  for (let x = box.left; x <= box.right; x++) on += Number(inkedNear(x, box.top, 0, 1)) + Number(inkedNear(x, box.bottom, 0, -1));
  for (let y = box.top; y <= box.bottom; y++) on += Number(inkedNear(box.left, y, 1, 0)) + Number(inkedNear(box.right, y, -1, 0));
  return on / (2 * (box.width + box.height));
}

describe('txt: scripts', () => {
  it('a character no font has is drawn as a framed box (the shape the next test rules out)', async () => {
    assert.ok((await frameCoverage('\uE000')) > 0.95);
  });

  for (const [script, character] of Object.entries(SCRIPTS)) {
    it(`draws ${script} as glyphs, not as missing-character boxes`, async () => {
      const coverage = await frameCoverage(character);
      assert.ok(coverage < 0.8, `${character}: ${Math.round(coverage * 100)} % of its outline is inked, like a box`);
    });
  }
});
