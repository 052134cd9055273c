/**
 * Image type from magic bytes, without decoding. Anything that is not one of the formats the renderer can
 * decode gives `null`: the caller passes those bytes through unchanged if they are other media (media-types.ts),
 * and refuses them otherwise.
 */

export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'svg';

export function detectImageFormat(bytes: Buffer): ImageFormat | null {
  if (bytes.length < 4) return null;
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (startsWith(bytes, 0, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, 0, 'GIF87a') || startsWith(bytes, 0, 'GIF89a')) return 'gif';
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'WEBP')) return 'webp';
  if (startsWith(bytes, 0, 'II*\0') || startsWith(bytes, 0, 'MM\0*')) return 'tiff';
  if (isAvif(bytes)) return 'avif';
  if (isSvg(bytes)) return 'svg';
  return null;
}

/**
 * A PDF: `%PDF-` within the first 1024 bytes (readers accept a little junk before it). Not an image format
 * above: a PDF is only rendered when the URL asks for an image (see pdf/pdf-source.ts).
 */
export function isPdf(bytes: Buffer): boolean {
  return bytes.subarray(0, 1024).includes('%PDF-', 0, 'latin1') && detectImageFormat(bytes) === null;
}

const CONTENT_TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  pjpg: 'image/jpeg',
  png: 'image/png',
  png8: 'image/png',
  png32: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  json: 'application/json',
  blurhash: 'text/plain; charset=utf-8',
  css: 'text/css',
};

/** MIME type for a detected input format or an output format name (`jpg`, `png8`, `json`, `blurhash`, `css`, …). */
export function contentTypeFor(format: string): string {
  return CONTENT_TYPES[format] ?? 'application/octet-stream';
}

const PNG_SIGNATURE = '\x89PNG\r\n\x1a\n';

function startsWith(bytes: Buffer, offset: number, signature: string): boolean {
  if (bytes.length < offset + signature.length) return false;
  for (let i = 0; i < signature.length; i++) {
    if (bytes[offset + i] !== signature.charCodeAt(i)) return false;
  }
  return true;
}

/** ISO-BMFF `ftyp` box whose major or compatible brands include avif/avis (HEIC alone is not decodable here). */
function isAvif(bytes: Buffer): boolean {
  if (bytes.length < 16 || !startsWith(bytes, 4, 'ftyp')) return false;
  const boxSize = Math.min(bytes.readUInt32BE(0), bytes.length, 256);
  for (let offset = 8; offset + 4 <= boxSize; offset += 4) {
    if (offset === 12) continue; // minor_version, not a brand
    if (startsWith(bytes, offset, 'avif') || startsWith(bytes, offset, 'avis')) return true;
  }
  return false;
}

/**
 * SVG is text: skip a BOM, whitespace, the XML declaration, comments and a doctype, then expect `<svg`.
 * Looking only at the first element keeps HTML pages that merely contain an inline <svg> out.
 */
function isSvg(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 4096).toString('utf8').replace(/^\uFEFF/, '');
  let rest = head.trimStart();
  for (;;) {
    if (rest.startsWith('<?')) rest = after(rest, '?>');
    else if (rest.startsWith('<!--')) rest = after(rest, '-->');
    else if (/^<!doctype/i.test(rest)) rest = after(rest, doctypeEnd(rest));
    else break;
    if (rest === '') return false;
  }
  return /^<svg[\s>/]/i.test(rest) || /^<[a-z0-9_-]+:svg[\s>/]/i.test(rest);
}

/** A doctype with an internal subset (`[ <!ENTITY …> ]`) ends at `]>`, otherwise at the first `>`. */
function doctypeEnd(text: string): string {
  const bracket = text.indexOf('[');
  const close = text.indexOf('>');
  return bracket !== -1 && bracket < close ? ']>' : '>';
}

function after(text: string, terminator: string): string {
  const end = text.indexOf(terminator);
  return end === -1 ? '' : text.slice(end + terminator.length).trimStart();
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/avif': 'avif',
  'image/gif': 'gif',
  'image/tiff': 'tiff',
  'image/svg+xml': 'svg',
  'application/pdf': 'pdf',
  'application/json': 'json',
  'application/vnd.api+json': 'json',
  'text/css': 'css',
  'text/plain': 'txt',
};

/** The usual file extension (no dot) for a content type, parameters such as `; charset=…` ignored. */
export function extensionFor(contentType: string): string | undefined {
  return EXTENSIONS[contentType.split(';')[0]!.trim().toLowerCase()];
}
