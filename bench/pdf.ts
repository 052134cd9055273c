/**
 * `node --import tsx bench/pdf.ts`: PDF page renders per second at 800 px wide, in this process (the render
 * pipeline itself, without HTTP or the render process around it), for a two-page document written by the
 * test fixtures. Each render opens the document, draws the page with pdf.js and encodes a JPEG, as a cache
 * miss does. BENCH_QUICK=1 shortens the window. It prints one line and writes nothing; bench/rendering.ts
 * measures the same case beside the other rendering families.
 */
import { twoPagePdf } from '../test/render/pdf-fixtures.ts';
import { rendersPerSecond } from './lib/renders.ts';

const QUICK = process.env.BENCH_QUICK === '1';

/** The page rendered: page 2 of the fixture at `width` px, as a JPEG. */
export const pdfQuery = (width = 800): string => `page=2&w=${width}&fm=jpg`;

/** Sequential renders of page 2 at `width` px for `seconds` after one warm-up; renders per second. */
export async function pdfRendersPerSecond(seconds: number, width = 800): Promise<number> {
  return rendersPerSecond(twoPagePdf(), pdfQuery(width), seconds);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rate = await pdfRendersPerSecond(QUICK ? 2 : 10);
  console.log(`PDF page at 800 px (pdf.js + JPEG): ${rate.toFixed(1)} renders/s`);
}
