import sharp from 'sharp';
import { detectImageFormat } from '../render/detect.ts';
import type { AssetFacts, MediaKind } from '../store/asset-store.ts';

/** What the Video API takes (issue #11): these extensions, or a `video/*` content type. */
const VIDEO_EXTENSIONS = new Set(['mp4', 'mov', 'm4v', 'webm', 'mkv']);

/** An origin file as the origin cache holds it; `body` may be left out (then the facts have no dimensions). */
export interface OriginFileFacts {
  body?: Buffer | undefined;
  size: number;
  contentType: string;
  /** SHA-256 of the body (the origin cache computes it once). */
  hash: string;
}

export function mediaKindOf(file: Pick<OriginFileFacts, 'body' | 'contentType'>, originPath: string): MediaKind {
  if (file.body ? detectImageFormat(file.body) !== null : /^image\//i.test(file.contentType)) return 'IMAGE';
  if (/^video\//i.test(file.contentType)) return 'VIDEO';
  const extension = /\.([a-z0-9]+)$/i.exec(originPath)?.[1]?.toLowerCase();
  return extension !== undefined && VIDEO_EXTENSIONS.has(extension) ? 'VIDEO' : 'OTHER';
}

/**
 * The facts of an origin file. Dimensions come from a raster image's header (no pixels are decoded), as
 * displayed (EXIF orientation applied); they are left out for SVG, whose size needs the document parsed
 * (renders do that in a separate process), for videos (the Video API probes those), and without the body.
 * A header sharp cannot read leaves them out too: indexing never fails on a bad file.
 */
export async function mediaFacts(file: OriginFileFacts, originPath: string): Promise<AssetFacts> {
  let mediaWidth: number | null = null;
  let mediaHeight: number | null = null;
  const format = file.body ? detectImageFormat(file.body) : null;
  if (file.body && format !== null && format !== 'svg') {
    try {
      const { autoOrient } = await sharp(file.body, { limitInputPixels: false }).metadata();
      mediaWidth = autoOrient.width ?? null;
      mediaHeight = autoOrient.height ?? null;
    } catch {
      // an unreadable header: the asset is indexed without its dimensions
    }
  }
  return { mediaKind: mediaKindOf(file, originPath), mediaWidth, mediaHeight, fileSize: file.size, contentType: file.contentType, contentHash: file.hash };
}

/** The facts' source for a master of the origin cache. */
export function masterFile(master: { body: Buffer; meta: { contentType: string; hash: string } }): OriginFileFacts {
  return { body: master.body, size: master.body.length, contentType: master.meta.contentType, hash: master.meta.hash };
}
