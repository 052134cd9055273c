/** Renders in this process: the render pipeline itself, without HTTP or the render process around it. */
import { parseParams } from '../../src/render/params.ts';
import { render, type RenderOptions } from '../../src/render/pipeline.ts';

/** What the server passes for an ordinary request, with room for the large inputs the benches use. */
export const RENDER_OPTIONS: RenderOptions = { acceptClass: '', maxInputPixels: 100_000_000, timeoutSeconds: 120 };

/** One render of `query` on `input`; the milliseconds it took. */
export async function timedRender(input: Buffer, query: string, options: RenderOptions = RENDER_OPTIONS): Promise<number> {
  const { params } = parseParams(query);
  const start = performance.now();
  await render(input, params, options);
  return performance.now() - start;
}

/**
 * Sequential renders of `query` on `input` for `seconds`, after `warm` unmeasured ones (the first render of
 * a family loads what it needs once per process: fonts, the face model, pdf.js); renders per second.
 */
export async function rendersPerSecond(input: Buffer, query: string, seconds: number, options: { warm?: number; render?: RenderOptions } = {}): Promise<number> {
  const { params } = parseParams(query);
  const renderOptions = options.render ?? RENDER_OPTIONS;
  for (let i = 0; i < (options.warm ?? 1); i++) await render(input, params, renderOptions);
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < seconds * 1000) {
    await render(input, params, renderOptions);
    count++;
  }
  return count / ((performance.now() - start) / 1000);
}
