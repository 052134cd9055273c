/**
 * The fm=json document: the input as stored, described with imgix's keys. Top-level fields come from the
 * header sharp reads; the `TIFF`, `Exif`, `GPS`, `IPTC`, `JFIF` and `PNG` dictionaries appear only when the
 * input carries that kind of metadata. `Output` is imgix's (empty) dictionary of output settings.
 */
import type { Metadata } from 'sharp';
import { contentTypeFor } from '../detect.ts';
import { parseExif } from './exif.ts';
import { iccDescription } from './icc.ts';
import { parseIptc } from './iptc.ts';
import { readJfif } from './jfif.ts';

const COLOR_MODELS: Record<string, string> = { srgb: 'RGB', rgb: 'RGB', rgb16: 'RGB', 'b-w': 'Gray', grey16: 'Gray', cmyk: 'CMYK', lab: 'Lab' };
const BIT_DEPTHS: Record<string, number> = { uchar: 8, char: 8, ushort: 16, short: 16, uint: 32, int: 32, float: 32, double: 64 };
/** PNG text keywords (PNG spec §11.3.4.2) under the names imgix gives them; others keep their keyword. */
const PNG_TEXT_KEYS: Record<string, string> = { 'Creation Time': 'CreationTime' };
/** Text chunks reported, and the length each is cut to: the input is untrusted and the document is cached. */
const MAX_PNG_TEXTS = 64;
const MAX_PNG_TEXT_CHARS = 2048;
const METERS_PER_INCH = 0.0254;

export function describeInput(input: Buffer, metadata: Metadata, sourceFormat: string): Record<string, unknown> {
  const info: Record<string, unknown> = {
    'Content-Type': contentTypeFor(sourceFormat),
    'Content-Length': String(input.length),
    PixelWidth: metadata.width,
    PixelHeight: metadata.height,
    ColorModel: COLOR_MODELS[metadata.space] ?? String(metadata.space).toUpperCase(),
    Depth: BIT_DEPTHS[metadata.depth] ?? 8,
    HasAlpha: metadata.hasAlpha,
    Orientation: metadata.orientation ?? 1,
  };
  if (metadata.density !== undefined) {
    info.DPIWidth = metadata.density;
    info.DPIHeight = metadata.density;
  }
  const profileName = metadata.icc && iccDescription(metadata.icc);
  if (profileName) info.ProfileName = profileName;
  if (metadata.pages !== undefined && metadata.pages > 1) info.Frames = metadata.pages;
  info.Output = {};

  if (metadata.exif) Object.assign(info, parseExif(metadata.exif));
  if (metadata.iptc) {
    const iptc = parseIptc(metadata.iptc);
    if (Object.keys(iptc).length > 0) info.IPTC = iptc;
  }
  if (sourceFormat === 'jpeg') info.JFIF = { ...readJfif(input), IsProgressive: metadata.isProgressive === true };
  if (sourceFormat === 'png') info.PNG = pngDictionary(metadata);
  return info;
}

function pngDictionary(metadata: Metadata): Record<string, unknown> {
  const png: Record<string, unknown> = { InterlaceType: metadata.isProgressive ? 1 : 0 };
  if (metadata.density !== undefined) {
    // pHYs stores pixels per metre; sharp reports it converted to dots per inch.
    const perMetre = Math.round(metadata.density / METERS_PER_INCH);
    png.XPixelsPerMeter = perMetre;
    png.YPixelsPerMeter = perMetre;
  }
  for (const { keyword, text } of (metadata.comments ?? []).slice(0, MAX_PNG_TEXTS)) {
    // defineProperty: a keyword such as `__proto__` is data here, never the object's prototype.
    Object.defineProperty(png, PNG_TEXT_KEYS[keyword] ?? keyword, { value: text.slice(0, MAX_PNG_TEXT_CHARS), enumerable: true, writable: true, configurable: true });
  }
  return png;
}
