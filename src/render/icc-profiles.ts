/**
 * The ICC profiles `cs=adobergb1998` and `cs=tinysrgb` embed. sharp converts to a profile given as a file,
 * so they live in vendor/icc/, written by `scripts/make-icc-profiles.ts` from the definitions below (a test
 * checks the files are exactly what these definitions give). Both are small ICC v2 display profiles of the
 * matrix/TRC kind: three colorants (the primaries adapted to the D50 connection space), a white point and a
 * tone curve per channel — all libvips/lcms need to convert to them and all a browser needs to read them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Xyz = readonly [number, number, number];

export interface MatrixTrcProfile {
  file: string;
  description: string;
  copyright: string;
  /** Media white point (the display's, as Adobe's own profile records it). */
  white: Xyz;
  red: Xyz;
  green: Xyz;
  blue: Xyz;
  /** The tone curve: a pure gamma. */
  trc: { gamma: number };
}

const D50: Xyz = [0.9642, 1, 0.8249];
const D65: Xyz = [0.9505, 1, 1.089];

/** Adobe RGB (1998), from Adobe's specification: its primaries Bradford-adapted to D50, gamma 563/256. */
export const ADOBE_RGB_1998: MatrixTrcProfile = {
  file: 'AdobeRGB1998.icc',
  description: 'Adobe RGB (1998) compatible',
  copyright: 'No copyright, use freely',
  white: D65,
  red: [0.60974, 0.31111, 0.01947],
  green: [0.20528, 0.62567, 0.06087],
  blue: [0.14919, 0.06322, 0.74457],
  trc: { gamma: 563 / 256 },
};

/**
 * A compact sRGB: the sRGB colorants with a pure 2.2 gamma in place of the sRGB curve (one number instead
 * of a table), so dark tones may shift very slightly, as imgix documents for tinysrgb.
 */
export const TINY_SRGB: MatrixTrcProfile = {
  file: 'TinySRGB.icc',
  description: 'sRGB tiny',
  copyright: 'CC0',
  white: D50,
  red: [0.43607, 0.22249, 0.01392],
  green: [0.38515, 0.71687, 0.09708],
  blue: [0.14307, 0.06061, 0.7141],
  trc: { gamma: 2.2 },
};

export const ICC_DIR = fileURLToPath(new URL('../../vendor/icc/', import.meta.url));

export function profilePath(profile: MatrixTrcProfile): string {
  return path.join(ICC_DIR, profile.file);
}

/** The profile's bytes: a 128-byte header, the tag table, then the tags (each 4-byte aligned). */
export function buildProfile(profile: MatrixTrcProfile): Buffer {
  const trc = curve(profile.trc);
  const tags: [string, Buffer][] = [
    ['desc', textDescription(profile.description)],
    ['cprt', text(profile.copyright)],
    ['wtpt', xyz(profile.white)],
    ['rXYZ', xyz(profile.red)],
    ['gXYZ', xyz(profile.green)],
    ['bXYZ', xyz(profile.blue)],
    ['rTRC', trc],
    ['gTRC', trc],
    ['bTRC', trc],
  ];
  const tableSize = 4 + tags.length * 12;
  const parts: Buffer[] = [];
  const table = Buffer.alloc(tableSize);
  table.writeUInt32BE(tags.length, 0);
  let offset = 128 + tableSize;
  const placed = new Map<Buffer, number>(); // the three curves are one tag, referenced three times
  tags.forEach(([signature, data], i) => {
    let at = placed.get(data);
    if (at === undefined) {
      at = offset;
      placed.set(data, at);
      const padded = pad4(data);
      parts.push(padded);
      offset += padded.length;
    }
    table.write(signature, 4 + i * 12, 'latin1');
    table.writeUInt32BE(at, 8 + i * 12);
    table.writeUInt32BE(data.length, 12 + i * 12);
  });
  const header = Buffer.alloc(128);
  header.writeUInt32BE(offset, 0);
  header.writeUInt32BE(0x02100000, 8); // version 2.1
  header.write('mntrRGB XYZ ', 12, 'latin1'); // display class, RGB data, XYZ connection space
  // Creation date: fixed, so that the file is reproducible.
  [2024, 1, 1, 0, 0, 0].forEach((value, i) => header.writeUInt16BE(value, 24 + i * 2));
  header.write('acsp', 36, 'latin1');
  xyzNumbers(D50).copy(header, 68); // the connection space's illuminant
  return Buffer.concat([header, table, ...parts]);
}

function s15Fixed16(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeInt32BE(Math.round(value * 65536));
  return out;
}

function xyzNumbers(value: Xyz): Buffer {
  return Buffer.concat(value.map(s15Fixed16));
}

function xyz(value: Xyz): Buffer {
  return Buffer.concat([typeHeader('XYZ '), xyzNumbers(value)]);
}

/** A curveType with one entry: a pure gamma (u8Fixed8Number). */
function curve(trc: MatrixTrcProfile['trc']): Buffer {
  const out = Buffer.alloc(14);
  typeHeader('curv').copy(out);
  out.writeUInt32BE(1, 8);
  out.writeUInt16BE(Math.round(trc.gamma * 256), 12);
  return out;
}

function text(value: string): Buffer {
  return Buffer.concat([typeHeader('text'), Buffer.from(`${value}\0`, 'latin1')]);
}

/** ICC v2 textDescriptionType: ASCII, then empty Unicode and ScriptCode descriptions. */
function textDescription(value: string): Buffer {
  const ascii = Buffer.from(`${value}\0`, 'latin1');
  const count = Buffer.alloc(4);
  count.writeUInt32BE(ascii.length);
  // Unicode language code and count (0), ScriptCode code (0), count (0) and its 67 reserved bytes.
  return Buffer.concat([typeHeader('desc'), count, ascii, Buffer.alloc(8), Buffer.alloc(3 + 67)]);
}

function typeHeader(signature: string): Buffer {
  const out = Buffer.alloc(8);
  out.write(signature, 0, 'latin1');
  return out;
}

function pad4(data: Buffer): Buffer {
  const extra = (4 - (data.length % 4)) % 4;
  return extra === 0 ? data : Buffer.concat([data, Buffer.alloc(extra)]);
}
