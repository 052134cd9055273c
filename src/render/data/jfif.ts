/**
 * The JFIF header of a JPEG (its APP0 segment): version and pixel density. Walks the marker segments
 * from the start of the file and stops at the first scan, so only the header is read.
 */

export interface JfifHeader {
  JFIFVersion: number[];
  DensityUnit: number;
  XDensity: number;
  YDensity: number;
}

const MAX_SEGMENTS = 64;
const APP0 = 0xe0;
const START_OF_SCAN = 0xda;

export function readJfif(jpeg: Buffer): JfifHeader | undefined {
  let at = 2; // after SOI
  for (let n = 0; n < MAX_SEGMENTS && at + 4 <= jpeg.length; n++) {
    if (jpeg[at] !== 0xff) return undefined;
    const marker = jpeg[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === START_OF_SCAN) return undefined;
    const length = jpeg.readUInt16BE(at + 2);
    const body = at + 4;
    if (marker === APP0 && length >= 16 && body + 12 <= jpeg.length && jpeg.toString('latin1', body, body + 5) === 'JFIF\0') {
      return {
        JFIFVersion: [jpeg[body + 5]!, jpeg[body + 6]!],
        DensityUnit: jpeg[body + 7]!,
        XDensity: jpeg.readUInt16BE(body + 8),
        YDensity: jpeg.readUInt16BE(body + 10),
      };
    }
    at += 2 + length;
  }
  return undefined;
}
