/**
 * `node --import tsx bench/pdf.ts`: PDF page renders per second at 800 px wide, in this process (the render
 * pipeline itself, without HTTP or the render process around it), for a two-page document written by the
 * test fixtures. Each render opens the document, draws the page with pdf.js and encodes a JPEG, as a cache
 * miss does. BENCH_QUICK=1 shortens the window. It prints one line and writes nothing.
 */
import { parseParams } from '../src/render/params.ts';
import { render } from '../src/render/pipeline.ts';
import { twoPagePdf } from '../test/render/pdf-fixtures.ts';

const QUICK = process.env.BENCH_QUICK === '1';

/** Sequential renders of page 2 at `width` px for `seconds` after one warm-up; renders per second. */
export async function pdfRendersPerSecond(seconds: number, width = 800): Promise<number> {
  const input = twoPagePdf();
  const { params } = parseParams(`page=2&w=${width}&fm=jpg`);
  const options = { acceptClass: '', maxInputPixels: 100_000_000, timeoutSeconds: 30 };
  await render(input, params, options);
  const start = performance.now();
  let renders = 0;
  while (performance.now() - start < seconds * 1000) {
    await render(input, params, options);
    renders++;
  }
  return renders / ((performance.now() - start) / 1000);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rate = await pdfRendersPerSecond(QUICK ? 2 : 10);
  console.log(`PDF page at 800 px (pdf.js + JPEG): ${rate.toFixed(1)} renders/s`);
}
