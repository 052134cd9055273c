/**
 * PDFs written by hand at test time (pdf.js only reads): a few objects, an exact cross-reference table.
 * Pages are filled with one colour (and optionally a square annotation drawn by its own appearance stream),
 * so a page shows in pixels which page and which annotation setting was rendered.
 */

export interface PdfPageSpec {
  /** In points (pixels at 72 dpi). */
  width: number;
  height: number;
  /** 0–1 per channel; the whole page is filled with it. */
  fill: readonly [number, number, number];
  /** A square annotation (left, bottom, right, top in points) filled with `color` by its appearance stream. */
  annotation?: { rect: readonly [number, number, number, number]; color: readonly [number, number, number] };
  /** /Rotate of the page (0, 90, 180, 270). */
  rotate?: number;
}

export function buildPdf(pages: readonly PdfPageSpec[]): Buffer {
  const objects: string[] = [];
  const add = (body: string): number => objects.push(body);
  const stream = (dictionary: string, content: string) => `<< ${dictionary} /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`;
  const catalog = add('');
  const tree = add('');
  const kids: number[] = [];
  for (const page of pages) {
    const content = add(stream('', `${page.fill.join(' ')} rg 0 0 ${page.width} ${page.height} re f`));
    let annots = '';
    if (page.annotation) {
      const [left, bottom, right, top] = page.annotation.rect;
      const [w, h] = [right - left, top - bottom];
      const appearance = add(stream(`/Type /XObject /Subtype /Form /BBox [0 0 ${w} ${h}]`, `${page.annotation.color.join(' ')} rg 0 0 ${w} ${h} re f`));
      const annot = add(`<< /Type /Annot /Subtype /Square /Rect [${left} ${bottom} ${right} ${top}] /F 4 /AP << /N ${appearance} 0 R >> >>`);
      annots = ` /Annots [${annot} 0 R]`;
    }
    const rotate = page.rotate ? ` /Rotate ${page.rotate}` : '';
    kids.push(add(`<< /Type /Page /Parent ${tree} 0 R /MediaBox [0 0 ${page.width} ${page.height}]${rotate} /Contents ${content} 0 R /Resources << >>${annots} >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${tree} 0 R >>`;
  objects[tree - 1] = `<< /Type /Pages /Kids [${kids.map((kid) => `${kid} 0 R`).join(' ')}] /Count ${kids.length} >>`;

  let out = '%PDF-1.7\n';
  const offsets = objects.map((body, i) => {
    const offset = Buffer.byteLength(out, 'latin1');
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  out += offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/**
 * Page 1: 400×300 pt red with a blue square annotation at its top-left quarter (0–100, 200–300 pt);
 * page 2: 300×400 pt green.
 */
export function twoPagePdf(): Buffer {
  return buildPdf([
    { width: 400, height: 300, fill: [1, 0, 0], annotation: { rect: [0, 200, 100, 300], color: [0, 0, 1] } },
    { width: 300, height: 400, fill: [0, 1, 0] },
  ]);
}
