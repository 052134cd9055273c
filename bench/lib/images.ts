/** Test images, generated with sharp at bench time (no binaries are committed). */
import sharp from 'sharp';

/**
 * A "photographic" JPEG: smooth colour gradients, large blurred blobs and fine grain, so that resizing
 * and every encoder do real work (pure noise would be unrealistic, flat colour far too cheap).
 */
export async function photoJpeg(file: string, width: number, height: number, seed = 1): Promise<void> {
  const random = mulberry32(seed);
  // Large structures: a coarse random field, upscaled with a smooth kernel.
  const cw = Math.ceil(width / 64);
  const ch = Math.ceil(height / 64);
  const coarse = Buffer.alloc(cw * ch * 3);
  for (let i = 0; i < coarse.length; i++) coarse[i] = Math.floor(random() * 256);
  const blobs = await sharp(coarse, { raw: { width: cw, height: ch, channels: 3 } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' })
    .blur(8)
    .raw()
    .toBuffer();
  // Gradients plus grain, blended with the blobs.
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const gx = x / width;
      const gy = y / height;
      const grain = (random() - 0.5) * 12; // ±6 levels of sensor-like grain
      pixels[i] = clamp(0.45 * blobs[i]! + 140 * gx + 20 + grain);
      pixels[i + 1] = clamp(0.45 * blobs[i + 1]! + 120 * gy + 30 + grain);
      pixels[i + 2] = clamp(0.45 * blobs[i + 2]! + 90 * (1 - gx * gy) + 10 + grain);
    }
  }
  await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
}

/** A tiny PNG (8×8 by default), for purge scenarios where renders must be cheap. */
export async function tinyPng(file: string, size = 8): Promise<void> {
  await sharp({ create: { width: size, height: size, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toFile(file);
}

function clamp(value: number): number {
  return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

/** A small seeded PRNG, so every run benchmarks the same pixels and the same URL order. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
