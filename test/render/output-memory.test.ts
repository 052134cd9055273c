/**
 * Render outputs own exactly their bytes. sharp's encoders write into a growable buffer whose allocation
 * is rounded up far beyond a small image; an output handed out as it is would keep all of it alive in the
 * memory tier, unseen by V8's accounting: only the process's resident memory outside V8's heap shows it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import sharp from 'sharp';
import { parseParams } from '../../src/render/params.ts';
import { render } from '../../src/render/pipeline.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Resident memory outside V8's heap (whose own growth between collections is not what is measured here). */
function nativeBytes(): number {
  gc();
  gc();
  const resident = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
  return resident - process.memoryUsage().heapTotal;
}

const OPTIONS = { acceptClass: '', maxInputPixels: 1e8 };
const FORMATS = ['png', 'jpg', 'webp'];

describe('render outputs', () => {
  it('cost about their own size to keep, however small they are', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    const input = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#c84' } }).png().toBuffer();
    const renderOne = async (i: number): Promise<Buffer> => (await render(input, parseParams(`w=${4 + (i % 24)}&fm=${FORMATS[i % 3]}`).params, OPTIONS)).body;
    for (let i = 0; i < 300; i++) await renderOne(i); // libvips' threads and their memory are warm
    const before = nativeBytes();
    const kept: Buffer[] = [];
    for (let i = 0; i < 3000; i++) kept.push(await renderOne(i));
    const perOutput = (nativeBytes() - before) / kept.length;
    const bodies = kept.reduce((sum, body) => sum + body.length, 0) / kept.length;
    assert.ok(perOutput < 4 * 1024, `each kept output of ${Math.round(bodies)} bytes costs ${Math.round(perOutput)} bytes of native memory`);
  });
});
