import { PictorError } from '../errors.ts';
import { detectMedia, describeBytes, familyOf, mimeOf, type Media } from '../render/media-types.ts';
import { decodeAssetPath } from '../sources/asset-path.ts';
import { contentTypeFromPath } from '../sources/origin.ts';

/** NAME_MAX of the usual file systems (ext4, XFS, Btrfs, APFS, NTFS in UTF-16 units): bytes of one name. */
const MAX_NAME_BYTES = 255;
/** An S3 key's limit, and well within PATH_MAX (4096) with a folder Source's own folder before it. */
const MAX_PATH_BYTES = 1024;

const SVG = 'image/svg+xml';

/**
 * An upload's path fits every origin: each name at most 255 bytes and the whole path at most 1024 (UTF-8,
 * decoded), checked before anything is written so a long name is a 400, never an origin's failure.
 */
export function checkUploadPath(canonicalPath: string): void {
  const decoded = decodeAssetPath(canonicalPath);
  const total = Buffer.byteLength(decoded);
  if (total > MAX_PATH_BYTES) throw invalidPath(`it is ${total} bytes long (UTF-8); an upload's path may have at most ${MAX_PATH_BYTES}`);
  for (const name of decoded.split('/')) {
    const bytes = Buffer.byteLength(name);
    if (bytes > MAX_NAME_BYTES) {
      throw invalidPath(`the name "${name.slice(0, 40)}…" is ${bytes} bytes long (UTF-8); a file or folder name may have at most ${MAX_NAME_BYTES}`);
    }
  }
}

/**
 * Checks an upload by its bytes and returns the content type to store it with. Security invariant: only media
 * Pictor renders or passes through are written (render/media-types.ts), and never under a declared type or a
 * name that tells another reader to treat them as something else — a web server on the same folder or a
 * public bucket would otherwise serve a PNG named `x.html` as a page. The rule:
 * - the bytes must be an image, a video, audio or a PDF (else 415, naming what they look like);
 * - the declared type must name the same family (an `image/…` type for an image; `application/pdf` for a
 *   PDF), and `image/svg+xml` for SVG bytes and only for them; `application/octet-stream` stands for
 *   "unknown" and is stored as the type the bytes are;
 * - the file's extension, if it has one (a name starting with a dot has one), must be one Pictor knows
 *   (sources/origin.ts) for that family, `.svg` for SVG and only for it.
 */
export function checkUploadFile(canonicalPath: string, body: Buffer, declaredType: string): string {
  const media = detectMedia(body);
  if (media === undefined) {
    throw unsupported(`The file's bytes are ${describeBytes(body)}, not an image, a video, audio or a PDF: only those can be uploaded.`);
  }
  const declared = mimeOf(declaredType);
  if (declared === 'application/octet-stream') return media.contentType;
  if (!fits(declared, media)) {
    const instead = `send ${media.contentType} (or another ${families(media)} type)`;
    throw unsupported(`The file's bytes are ${media.name}, but its Content-Type says ${declared}: ${instead}.`);
  }
  const name = decodeAssetPath(canonicalPath).split('/').at(-1) ?? '';
  const dot = name.lastIndexOf('.');
  if (dot !== -1 && !fits(contentTypeFromPath(name), media)) {
    const instead = `name it .${media.extension} (or another ${families(media)} extension)`;
    throw unsupported(`The file's bytes are ${media.name}, which a name ending in "${name.slice(dot)}" would misrepresent: ${instead}.`);
  }
  return declaredType;
}

/** Whether a type names the family of these bytes; SVG, the image type that can carry script, names SVG alone. */
function fits(contentType: string, media: Media): boolean {
  const family = familyOf(contentType);
  if (family === undefined || !media.families.includes(family)) return false;
  return family !== 'image' || (mimeOf(contentType) === SVG) === (media.contentType === SVG);
}

function families(media: Media): string {
  return media.families.map((family) => (family === 'pdf' ? 'PDF' : family)).join(' or ');
}

function invalidPath(message: string): PictorError {
  return new PictorError('INVALID_PATH', `Invalid path: ${message}.`);
}

function unsupported(message: string): PictorError {
  return new PictorError('UNSUPPORTED_MEDIA_TYPE', message);
}
