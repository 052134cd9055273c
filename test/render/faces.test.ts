import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { PictorError } from '../../src/errors.ts';
import { estimateRenderCost } from '../../src/render/cost.ts';
import { IsolatedRenderer } from '../../src/render/isolated-renderer.ts';
import { parseParams } from '../../src/render/params.ts';
import { gradientJpeg, near, OPTIONS, pixels, renderQuery, solid } from './fixtures.ts';

/** face-api's demo photos (a dev dependency): 22 faces in all. */
const DEMO = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo');
const sample = (n: number) => readFileSync(path.join(DEMO, `sample${n}.jpg`));
const EXPECTED_FACES = [3, 3, 3, 4, 5, 4];

interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface JsonFace {
  bounds: Bounds;
  left_eye: { x: number; y: number };
  right_eye: { x: number; y: number };
  mouth: { x: number; y: number };
}

async function facesOf(input: Buffer): Promise<JsonFace[]> {
  const result = await renderQuery(input, 'fm=json&faces=1');
  return (JSON.parse(result.body.toString()) as { Faces: JsonFace[] }).Faces;
}

const centre = (b: Bounds) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

/** Mean absolute difference per channel inside `box` (clipped) of two same-sized decoded images. */
async function meanDiff(a: Buffer, b: Buffer, box: Bounds): Promise<number> {
  const [pa, pb] = await Promise.all([pixels(a), pixels(b)]);
  assert.equal(pa.width, pb.width);
  let sum = 0;
  let n = 0;
  for (let y = Math.max(0, Math.round(box.y)); y < Math.min(pa.height, box.y + box.height); y += 2) {
    for (let x = Math.max(0, Math.round(box.x)); x < Math.min(pa.width, box.x + box.width); x += 2) {
      const [p, q] = [pa.at(x, y), pb.at(x, y)];
      for (let c = 0; c < 3; c++) sum += Math.abs(p[c]! - q[c]!);
      n += 3;
    }
  }
  return sum / n;
}

async function noise(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = seed >> 23;
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

async function shapes(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600"><rect width="800" height="600" fill="#d8d2c4"/>
    <circle cx="200" cy="200" r="120" fill="#e0b090"/><ellipse cx="200" cy="420" rx="150" ry="60" fill="#602020"/>
    <rect x="450" y="300" width="250" height="200" fill="#3060a0"/><polygon points="400,50 550,250 250,250" fill="#40a040"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg().toBuffer();
}

describe('faces: detector on the sample photos', () => {
  it('finds every face of the six photos (22) with their boxes and landmarks in place', async () => {
    const counts = [];
    for (let n = 1; n <= 6; n++) {
      const faces = await facesOf(sample(n));
      counts.push(faces.length);
      for (const face of faces) {
        const { x, y, width, height } = face.bounds;
        assert.ok(width > 100 && width < 300 && Math.abs(width - height) <= 1, `sample${n}: a face box of ${width}×${height}`);
        for (const point of [face.left_eye, face.right_eye, face.mouth]) {
          assert.ok(point.x >= x && point.x <= x + width && point.y >= y && point.y <= y + height, `sample${n}: landmark outside its box`);
        }
        assert.ok(face.mouth.y > Math.min(face.left_eye.y, face.right_eye.y), 'the mouth is below the eyes');
      }
    }
    assert.deepEqual(counts, EXPECTED_FACES);
  });

  it('puts the faces of sample2 where they are, largest first, and names the eyes as the viewer sees them', async () => {
    const faces = await facesOf(sample(2));
    // Approximate face centres, read off the photo: middle, left and right woman.
    const known = [{ x: 968, y: 370 }, { x: 455, y: 295 }, { x: 1552, y: 292 }];
    faces.forEach((face, i) => {
      const c = centre(face.bounds);
      assert.ok(Math.abs(c.x - known[i]!.x) < 40 && Math.abs(c.y - known[i]!.y) < 40, `face ${i + 1} at ${c.x},${c.y}`);
    });
    const areas = faces.map((f) => f.bounds.width * f.bounds.height);
    assert.deepEqual(areas, [...areas].sort((a, b) => b - a));
    const frontal = faces[2]!; // the woman on the right looks at the camera
    assert.ok(frontal.left_eye.x < frontal.right_eye.x);
  });

  it('finds no face in flat shapes, a gradient or noise', async () => {
    for (const input of [await shapes(), await gradientJpeg(), await noise(640, 480), await solid(300, 200, [200, 150, 120])]) {
      assert.deepEqual(await facesOf(input), []);
    }
  });

  it('answers a 1×1 image with no face', async () => {
    assert.deepEqual(await facesOf(await solid(1, 1, [0, 0, 0])), []);
  });
});

describe('faces: fit=facearea', () => {
  it('crops to the chosen face: the output is that face, centred and filling it as facepad says', async () => {
    const input = sample(2);
    const faces = await facesOf(input);
    for (const index of [1, 2, 3]) {
      const result = await renderQuery(input, `fit=facearea&faceindex=${index}&facepad=2&w=200&h=200&fm=png`);
      assert.deepEqual([result.width, result.height], [200, 200]);
      // The crop is the face box doubled around its centre: cut the same region by hand and compare.
      const box = faces[index - 1]!.bounds;
      const side = box.width * 2;
      const c = centre(box);
      const left = Math.round(c.x - side / 2);
      const top = Math.max(0, Math.round(c.y - side / 2));
      const expected = await sharp(input).extract({ left, top, width: Math.round(side), height: Math.round(side) }).resize(200, 200).png().toBuffer();
      assert.ok((await meanDiff(result.body, expected, { x: 0, y: 0, width: 200, height: 200 })) < 12, `face ${index}`);
      // And the detector sees one face in the middle of it, half its width.
      const again = await facesOf(result.body);
      assert.ok(again.length >= 1);
      const inner = again[0]!;
      assert.ok(Math.abs(centre(inner.bounds).x - 100) < 20 && Math.abs(centre(inner.bounds).y - 100) < 25, JSON.stringify(inner.bounds));
      assert.ok(inner.bounds.width > 70 && inner.bounds.width < 130, JSON.stringify(inner.bounds));
    }
  });

  it('faceindex=2 gives another crop than faceindex=1; without faceindex every face is kept', async () => {
    const input = sample(6);
    const one = await renderQuery(input, 'fit=facearea&faceindex=1&w=120&h=120&fm=png');
    const two = await renderQuery(input, 'fit=facearea&faceindex=2&w=120&h=120&fm=png');
    assert.ok((await meanDiff(one.body, two.body, { x: 0, y: 0, width: 120, height: 120 })) > 20);
    const all = await renderQuery(input, 'fit=facearea&w=600&h=200&fm=png');
    assert.equal((await facesOf(all.body)).length, 4);
  });

  it('with one side gives a square; without w and h cuts the face box at full resolution', async () => {
    const input = sample(1);
    const square = await renderQuery(input, 'fit=facearea&faceindex=1&w=150');
    assert.deepEqual([square.width, square.height], [150, 150]);
    const box = (await facesOf(input))[0]!.bounds;
    const cut = await renderQuery(input, 'fit=facearea&faceindex=1');
    assert.ok(Math.abs(cut.width! - box.width) <= 1 && Math.abs(cut.height! - box.height) <= 1, `${cut.width}×${cut.height}`);
  });

  it('falls back when no face is found: to clip by default, or to the fit after it', async () => {
    const input = await solid(400, 200, [40, 90, 200], 'jpeg');
    const clip = await renderQuery(input, 'fit=facearea&w=100&h=100');
    assert.deepEqual([clip.width, clip.height], [100, 50]);
    const fill = await renderQuery(input, 'fit=facearea,fill&fill-color=ff0000&w=100&h=100&fm=png');
    assert.deepEqual([fill.width, fill.height], [100, 100]);
    const image = await pixels(fill.body);
    assert.ok(near(image.at(50, 2), [255, 0, 0]) && near(image.at(50, 50), [40, 90, 200]));
    const crop = await renderQuery(input, 'fit=facearea,crop&w=100&h=100');
    assert.deepEqual([crop.width, crop.height], [100, 100]);
  });

  it('falls back when faceindex names a face that is not there', async () => {
    const result = await renderQuery(sample(2), 'fit=facearea&faceindex=99&w=300&h=300');
    assert.deepEqual([result.width, result.height], [300, 214]);
  });
});

describe('faces: crop=faces', () => {
  it('centres the crop on the faces, or on the largest one when they do not all fit', async () => {
    // sample1 (1920×1280) cut to 1:2 keeps a 640×1280 window: its three faces do not fit, so the window
    // centres on the largest (the left one), where a plain crop would take the middle.
    const input = sample(1);
    const largest = (await facesOf(input))[0]!.bounds;
    const left = Math.round(centre(largest).x - 320);
    assert.ok(left > 0 && left < 640 - 100);
    const expected = await sharp(input).extract({ left, top: 0, width: 640, height: 1280 }).resize(300, 600).png().toBuffer();
    const result = await renderQuery(input, 'fit=crop&crop=faces&w=300&h=600&fm=png');
    const whole = { x: 0, y: 0, width: 300, height: 600 };
    assert.ok((await meanDiff(result.body, expected, whole)) < 3);
    const plain = await renderQuery(input, 'fit=crop&w=300&h=600&fm=png');
    assert.ok((await meanDiff(plain.body, expected, whole)) > 20);
    // When they all fit (a wide window), the window centres on all of them.
    const wide = await renderQuery(input, 'fit=crop&crop=faces&w=600&h=100&fm=png');
    assert.equal((await facesOf(await sharp(wide.body).resize(1920).toBuffer())).length >= 2, true);
  });

  it('uses the rest of the chain when there is no face', async () => {
    const input = await gradientJpeg();
    const faces = await renderQuery(input, 'fit=crop&crop=faces,left&w=200&h=200&fm=png');
    const left = await renderQuery(input, 'fit=crop&crop=left&w=200&h=200&fm=png');
    assert.ok(faces.body.equals(left.body));
  });
});

describe('faces: face-blur and face-pixel', () => {
  it('face-blur changes every face box and nothing far outside', async () => {
    const input = sample(5);
    const faces = (await facesOf(input)).map((f) => ({ x: f.bounds.x / 2, y: f.bounds.y / 2, width: f.bounds.width / 2, height: f.bounds.height / 2 }));
    const plain = await renderQuery(input, 'w=960&fm=png');
    const blurred = await renderQuery(input, 'w=960&face-blur=80&fm=png');
    for (const box of faces) assert.ok((await meanDiff(plain.body, blurred.body, box)) > 8, JSON.stringify(box));
    // Far from every face: the bottom strip of the photo (the faces are in its upper two thirds).
    const lowest = Math.max(...faces.map((b) => b.y + b.height * 1.5));
    assert.ok(lowest < 640);
    assert.ok((await meanDiff(plain.body, blurred.body, { x: 0, y: lowest + 10, width: 960, height: 699 - lowest - 10 })) < 0.5);
  });

  it('face-pixel makes flat blocks over each face, sized by the amount', async () => {
    const input = sample(1);
    const face = (await facesOf(input))[0]!.bounds;
    const result = await renderQuery(input, 'face-pixel=50&fm=png');
    const image = await pixels(result.body);
    // Blocks are half the covered area's long side (box + 25 % a side = 1.5 box): count colour changes across the box.
    let changes = 0;
    const y = Math.round(face.y + face.height / 2);
    for (let x = face.x + 1; x < face.x + face.width; x++) if (!near(image.at(x, y), image.at(x - 1, y), 0)) changes++;
    assert.ok(changes >= 1 && changes <= 2, `${changes} block edges across the face`);
    const plain = await renderQuery(input, 'fm=png');
    assert.ok((await meanDiff(plain.body, result.body, face)) > 10);
  });

  it('covers the faces where they end up after a crop, a fill or a face crop', async () => {
    const input = sample(2);
    for (const query of ['w=400&h=400&fit=crop&crop=bottom,right', 'w=500&h=500&fit=fill', 'w=300&h=300&fit=facearea&faceindex=3&facepad=3']) {
      const plain = await renderQuery(input, `${query}&fm=png`);
      const covered = await renderQuery(input, `${query}&face-pixel=40&fm=png`);
      // (The crops also show bits of other faces, which the detector may or may not take for faces: the big ones count.)
      const faces = (await facesOf(plain.body)).filter((face) => face.bounds.width >= 50);
      assert.ok(faces.length >= 1, query);
      for (const { bounds } of faces) assert.ok((await meanDiff(plain.body, covered.body, bounds)) > 6, `${query}: ${JSON.stringify(bounds)}`);
    }
  });

  it('leaves an image without faces unchanged', async () => {
    const input = await gradientJpeg();
    const a = await renderQuery(input, 'w=300&fm=png');
    const b = await renderQuery(input, 'w=300&face-blur=100&face-pixel=100&fm=png');
    assert.ok((await meanDiff(a.body, b.body, { x: 0, y: 0, width: 300, height: 200 })) < 0.5);
  });
});

describe('faces: parameters, cost and the render process', () => {
  it('normalises: facearea fallback chains, defaults dropped, dependencies enforced', () => {
    assert.equal(parseParams('fit=facearea,clip&w=10&h=10&facepad=1').canonical, 'fit=facearea&h=10&w=10');
    assert.equal(parseParams('fit=facearea,fill&w=10&h=10').canonical, 'fit=facearea,fill&h=10&w=10');
    assert.equal(parseParams('fit=crop,fill&w=10&h=10').canonical, 'fit=crop&h=10&w=10');
    assert.equal(parseParams('fit=fill&w=10&h=10&facepad=2&faceindex=2&faces=1').canonical, 'fit=fill&h=10&w=10');
    assert.equal(parseParams('fit=facearea&facepad=99&faceindex=0').canonical, 'faceindex=1&facepad=10&fit=facearea');
    assert.equal(parseParams('fm=json&faces=1&w=10').canonical, 'faces=1&fm=json');
    assert.equal(parseParams('face-blur=0&face-pixelate=30').canonical, 'face-pixel=30');
  });

  it('rejects hostile values with a 400 that says why', () => {
    for (const query of ['face-blur=101', 'face-pixel=-1', 'fit=facearea,sideways', 'faces=2&fm=json', 'facepad=abc&fit=facearea', 'faceindex=1e999&fit=facearea']) {
      assert.throws(() => parseParams(query), (error: unknown) => error instanceof PictorError && error.code === 'INVALID_PARAMETER' && /must be/.test(error.message), query);
    }
  });

  it('charges face detection and covering in the cost estimate', () => {
    const input = { format: 'jpeg', width: 1920, height: 1280, progressive: false, frames: 1 };
    const output = { format: 'jpg' as const, width: 600, height: 400 };
    const plain = estimateRenderCost(input, output, parseParams('w=600').params).bytes;
    const area = estimateRenderCost(input, output, parseParams('w=600&h=400&fit=facearea').params).bytes;
    const blur = estimateRenderCost(input, output, parseParams('w=600&face-blur=50').params).bytes;
    assert.ok(area >= plain + 16 * 1024 * 1024 && blur > area);
  });

  it('detects in a render process too', async () => {
    const renderer = new IsolatedRenderer({ threads: 1 });
    try {
      const result = await renderer.render(sample(3), parseParams('fm=json&faces=1').params, OPTIONS);
      assert.equal((JSON.parse(result.body.toString()) as { Faces: unknown[] }).Faces.length, 3);
    } finally {
      await renderer.close();
    }
  });
});
