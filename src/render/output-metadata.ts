/**
 * What the encoded file carries besides pixels: the colour profile (`cs`), the density (`dpi`) and the
 * source's IPTC block (`iptc=allow`). sharp strips everything by default; this opts back in to exactly what
 * the parameters ask for, never the source's EXIF (camera serials, GPS positions).
 *
 * The render's working pixels are always sRGB: sharp converts a tagged source to sRGB as it decodes it, and
 * a render that runs in several pipelines hands sRGB pixels from one to the next. So every profile here is
 * applied the same way, as a conversion from sRGB into the profile, which is then embedded; the result does
 * not depend on how many pipelines a render needed or whether it started from a cached decoded copy.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Metadata, Sharp } from 'sharp';
import type { OutputFormat } from './encode.ts';
import { ADOBE_RGB_1998, profilePath, TINY_SRGB } from './icc-profiles.ts';
import type { RenderParams } from './render-params.ts';

/** Formats whose files carry an ICC profile (GIF cannot: its pixels must stay sRGB). */
const ICC_FORMATS = new Set<OutputFormat>(['jpg', 'pjpg', 'png', 'png8', 'png32', 'webp', 'avif']);
const JPEG_FORMATS = new Set<OutputFormat>(['jpg', 'pjpg']);
const DPI_FORMATS = new Set<OutputFormat>(['jpg', 'pjpg', 'png', 'png8', 'png32']);
/** libvips' `keep` flag for IPTC (VIPS_FOREIGN_KEEP_IPTC): sharp has no method that keeps IPTC alone. */
const KEEP_IPTC = 0b00100;

/** The parts of the source's header that decide what can be kept. */
export type SourceMetadata = Pick<Metadata, 'format' | 'icc'>;

export function applyOutputMetadata(image: Sharp, format: OutputFormat, params: RenderParams, source: SourceMetadata): Sharp {
  if (ICC_FORMATS.has(format)) {
    const profile = outputProfile(params.cs, source);
    if (profile !== undefined) image.withIccProfile(profile);
  }
  if (params.dpi !== undefined && DPI_FORMATS.has(format)) {
    // withDensity keeps the source's EXIF; replacing it with an empty block keeps only the density.
    image.withDensity(params.dpi).withExif({});
  }
  if (params.iptc === 'allow' && JPEG_FORMATS.has(format) && source.format === 'jpeg') {
    (image as unknown as { options: { keepMetadata: number } }).options.keepMetadata |= KEEP_IPTC;
  }
  return image;
}

/**
 * The profile to convert to and embed, or undefined for none. `origin` (imgix's default) is the source's own
 * RGB profile; a source without one stays untagged sRGB, and a CMYK or greyscale profile is converted to
 * sRGB and dropped, since an RGB output cannot carry it.
 */
function outputProfile(cs: RenderParams['cs'], source: SourceMetadata): string | undefined {
  switch (cs) {
    case 'strip': return undefined;
    case 'srgb': return 'srgb';
    case 'adobergb1998': return profilePath(ADOBE_RGB_1998);
    case 'tinysrgb': return profilePath(TINY_SRGB);
    case undefined: return source.icc && isRgbProfile(source.icc) ? (sourceProfiles.pathFor(source.icc) ?? 'srgb') : undefined;
  }
}

/** An ICC header records its data colour space at bytes 16–19. */
function isRgbProfile(icc: Buffer): boolean {
  return icc.length >= 128 && icc.toString('latin1', 16, 20) === 'RGB ';
}

/**
 * sharp converts to a profile only from a file, so a source's profile is written to a private temporary
 * folder once, named by its hash. Profiles are few (most sources share sRGB or Display P3); past the bound,
 * or when the file cannot be written, `origin` falls back to sRGB, as imgix does when it cannot keep one.
 */
class SourceProfiles {
  private static readonly MAX_FILES = 64;
  private static readonly MAX_BYTES = 1024 * 1024;
  private dir: string | undefined;
  private readonly paths = new Map<string, string>();

  pathFor(icc: Buffer): string | undefined {
    if (icc.length > SourceProfiles.MAX_BYTES) return undefined;
    const hash = createHash('sha256').update(icc).digest('hex');
    const known = this.paths.get(hash);
    if (known !== undefined || this.paths.size >= SourceProfiles.MAX_FILES) return known;
    try {
      this.dir ??= this.createDir();
      const file = path.join(this.dir, `${hash}.icc`);
      fs.writeFileSync(file, icc, { mode: 0o600 });
      this.paths.set(hash, file);
      return file;
    } catch {
      return undefined;
    }
  }

  private createDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-icc-'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }
}

const sourceProfiles = new SourceProfiles();
