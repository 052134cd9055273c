/**
 * Run by output-memory.test.ts in a process of its own: renders small outputs, keeps them, and prints what
 * each costs in resident memory outside V8's heap, with the average size of their bytes, as JSON.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { parseParams } from '../../src/render/params.ts';
import { render } from '../../src/render/pipeline.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
// One libvips thread (and one malloc arena, see the test): memory that threads touch by chance stays out.
sharp.concurrency(1);

const OPTIONS = { acceptClass: '', maxInputPixels: 1e8 };
const FORMATS = ['png', 'jpg', 'webp'];

/** Resident memory outside V8's heap (whose own growth between collections is not what is measured here). */
function nativeBytes(): number {
  gc();
  gc();
  const resident = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
  return resident - process.memoryUsage().heapTotal;
}

const input = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#c84' } }).png().toBuffer();
const renderOne = async (i: number): Promise<Buffer> => {
  const { params } = parseParams(`w=${4 + (i % 24)}&fm=${FORMATS[i % 3]}`);
  return (await render(input, params, OPTIONS)).body;
};
for (let i = 0; i < 300; i++) await renderOne(i); // libvips' thread and its memory are warm
const before = nativeBytes();
const kept: Buffer[] = [];
for (let i = 0; i < 3000; i++) kept.push(await renderOne(i));
const perOutput = (nativeBytes() - before) / kept.length;
const bodies = kept.reduce((sum, body) => sum + body.length, 0) / kept.length;
process.stdout.write(JSON.stringify({ perOutput, bodies }));
