/**
 * The gallery's inputs: the repository's sample photo and logo, a face-api demo photo (a dev dependency) for
 * the face parameters, and inputs made here with sharp (an animated GIF, a mask, a framed photo to trim) or
 * written by hand (a two-page PDF).
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import sharp from 'sharp';
import { twoPagePdf } from '../../test/render/pdf-fixtures.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const FACE_PHOTO = path.join(path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');

/** Every input the gallery's URLs name, by file name in the assets folder. */
export async function sampleAssets(): Promise<Record<string, Buffer>> {
  const sunset = await fs.readFile(path.join(REPO, 'assets', 'sunset.jpg'));
  return {
    'sunset.jpg': sunset,
    'logo.png': await fs.readFile(path.join(REPO, 'assets', 'logo.png')),
    'faces.jpg': await fs.readFile(FACE_PHOTO),
    'framed.jpg': await framedPhoto(sunset),
    'bouncing.gif': await animatedGif(),
    'mask.png': await starMask(),
    'two-pages.pdf': twoPagePdf(),
  };
}

/** The photo inside a wide white frame, for `trim`. */
function framedPhoto(photo: Buffer): Promise<Buffer> {
  return sharp(photo)
    .resize(480)
    .extend({ top: 60, bottom: 60, left: 60, right: 60, background: '#ffffff' })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Twelve frames of a ball crossing the picture left to right while it changes colour, so `reverse` and `fps` show. */
async function animatedGif(): Promise<Buffer> {
  const [width, height, count] = [240, 120, 12];
  const frames = await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const x = 20 + Math.round((i * (width - 40)) / (count - 1));
      const hue = Math.round((i * 360) / count);
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
        <rect width="100%" height="100%" fill="#1d2b3a"/>
        <rect x="0" y="${height - 10}" width="${x}" height="10" fill="#f5f5f5"/>
        <circle cx="${x}" cy="${height / 2}" r="18" fill="hsl(${hue},80%,60%)"/></svg>`;
      return sharp(Buffer.from(svg)).png().toBuffer();
    }),
  );
  return sharp(frames, { join: { animated: true } }).gif({ delay: Array(count).fill(100), loop: 0 }).toBuffer();
}

/** A white five-pointed star on black: white keeps the image, black hides it. */
function starMask(): Promise<Buffer> {
  const points = Array.from({ length: 10 }, (_, i) => {
    const radius = i % 2 ? 40 : 100;
    const angle = (Math.PI / 5) * i - Math.PI / 2;
    return `${(100 + radius * Math.cos(angle)).toFixed(1)},${(105 + radius * Math.sin(angle)).toFixed(1)}`;
  }).join(' ');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">
    <rect width="100%" height="100%" fill="#000"/><polygon points="${points}" fill="#fff"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
