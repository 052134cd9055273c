import { contentTypeFor, detectImageFormat, isPdf, type ImageFormat } from './detect.ts';

/**
 * Media recognised by their bytes (magic numbers), never by a file's name or by the type an origin or an
 * upload claims: what the render listener passes through unrendered, and what the Assets API accepts.
 *
 * Security invariant: every content type given here is one a browser displays, plays or hands to its PDF
 * viewer, and never runs as a document with script: no HTML, XML, JavaScript, CSS, JSON or plain text. SVG,
 * the one image type that can carry script, is named only for bytes that are SVG, and the render listener
 * always rasterises those (there is no SVG output format).
 */
export type MediaFamily = 'image' | 'video' | 'audio' | 'pdf';

export interface Media {
  /** The content type these bytes are served with. */
  contentType: string;
  /** What the bytes are, for messages: "a PNG image". */
  name: string;
  /** The usual file extension, without the dot. */
  extension: string;
  /** The families a declared type may name: an MP4, WebM, Matroska or Ogg file may hold audio alone. */
  families: readonly MediaFamily[];
  /** Other types naming the same container (`audio/webm` for WebM): an origin's choice among them is kept. */
  alternatives: readonly string[];
}

const IMAGE_NAMES: Record<ImageFormat, string> = {
  jpeg: 'a JPEG image', png: 'a PNG image', webp: 'a WebP image', gif: 'a GIF image', tiff: 'a TIFF image',
  avif: 'an AVIF image', svg: 'an SVG image',
};

/** The media these bytes are, or undefined when they are none Pictor renders or passes through. */
export function detectMedia(bytes: Buffer): Media | undefined {
  const image = detectImageFormat(bytes);
  if (image !== null) return media(contentTypeFor(image), IMAGE_NAMES[image], image === 'jpeg' ? 'jpg' : image, ['image']);
  if (isPdf(bytes)) return PDF;
  return isoMedia(bytes) ?? otherImage(bytes) ?? otherVideo(bytes) ?? audio(bytes);
}

/**
 * The content type a file that is not rendered is served with, decided by its bytes; `declared` (the
 * origin's type) is kept only when it names the same container. Undefined: not media, never served.
 */
export function passThroughType(bytes: Buffer, declared: string): string | undefined {
  const found = detectMedia(bytes);
  if (found === undefined) return undefined;
  const mime = mimeOf(declared);
  return found.alternatives.includes(mime) ? mime : found.contentType;
}

/** A content type without its parameters, lower-case: `Video/WebM; codecs=vp8` → `video/webm`. */
export function mimeOf(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** The family a content type names, if it names media. */
export function familyOf(contentType: string): MediaFamily | undefined {
  const mime = mimeOf(contentType);
  if (mime === 'application/pdf') return 'pdf';
  const top = mime.slice(0, mime.indexOf('/'));
  return top === 'image' || top === 'video' || top === 'audio' ? top : undefined;
}

/** What bytes that are not media look like, for messages: "an HTML document", "JSON", "text", … */
export function describeBytes(bytes: Buffer): string {
  if (bytes.length === 0) return 'empty';
  if (startsWith(bytes, 0, 'PK\x03\x04')) return 'a ZIP archive';
  const head = bytes.subarray(0, 4096);
  if (head.includes(0) || !isUtf8Prefix(head)) return 'unrecognised binary data';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (/^<!doctype html|<(html|head|body|script|iframe|meta|style|title|div|form|img)[\s>/]/i.test(text)) return 'an HTML document';
  if (text.startsWith('<')) return 'an XML document';
  if (/^[{[]/.test(text) && bytes.length <= 1024 * 1024 && isJson(bytes)) return 'JSON';
  return 'text';
}

function media(contentType: string, name: string, extension: string, families: MediaFamily[], alternatives: string[] = []): Media {
  return { contentType, name, extension, families, alternatives };
}

const AV: MediaFamily[] = ['video', 'audio'];
const PDF = media('application/pdf', 'a PDF document', 'pdf', ['pdf']);
const MP4 = media('video/mp4', 'an MP4 video', 'mp4', AV, ['audio/mp4', 'audio/x-m4a', 'video/x-m4v']);
const M4A = media('audio/mp4', 'an MPEG-4 audio file', 'm4a', ['audio'], ['audio/x-m4a']);
const QUICKTIME = media('video/quicktime', 'a QuickTime video', 'mov', AV);
const THREE_GP = media('video/3gpp', 'a 3GPP video', '3gp', AV, ['audio/3gpp']);
const THREE_G2 = media('video/3gpp2', 'a 3GPP2 video', '3g2', AV, ['audio/3gpp2']);
const HEIF = media('image/heic', 'a HEIF image', 'heic', ['image'], ['image/heif']);
const ICO = media('image/x-icon', 'an icon', 'ico', ['image'], ['image/vnd.microsoft.icon']);
const BMP = media('image/bmp', 'a BMP image', 'bmp', ['image']);
const JXL = media('image/jxl', 'a JPEG XL image', 'jxl', ['image']);
const JP2 = media('image/jp2', 'a JPEG 2000 image', 'jp2', ['image']);
const WEBM = media('video/webm', 'a WebM video', 'webm', AV, ['audio/webm']);
const MATROSKA = media('video/x-matroska', 'a Matroska video', 'mkv', AV, ['audio/x-matroska']);
const AVI = media('video/x-msvideo', 'an AVI video', 'avi', ['video']);
const MPEG_TS = media('video/mp2t', 'an MPEG transport stream', 'm2ts', AV);
const MPEG_PS = media('video/mpeg', 'an MPEG video', 'mpg', ['video']);
const OGG_VIDEO = media('video/ogg', 'an Ogg video', 'ogv', AV, ['audio/ogg']);
const OGG_AUDIO = media('audio/ogg', 'an Ogg audio file', 'ogg', ['audio', 'video'], ['video/ogg', 'audio/opus']);
const WAV = media('audio/wav', 'a WAV audio file', 'wav', ['audio'], ['audio/x-wav', 'audio/wave']);
const FLAC = media('audio/flac', 'a FLAC audio file', 'flac', ['audio'], ['audio/x-flac']);
const AIFF = media('audio/aiff', 'an AIFF audio file', 'aiff', ['audio'], ['audio/x-aiff']);
const MP3 = media('audio/mpeg', 'an MP3 audio file', 'mp3', ['audio'], ['audio/mp3']);
const AAC = media('audio/aac', 'an AAC audio file', 'aac', ['audio']);

/** Brands of an ISO-BMFF `ftyp` box that mean HEIF images (AVIF is rendered, so detected before this). */
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
const MP4_AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B ']);
/** Atoms that open a QuickTime file written before `ftyp` existed. */
const QUICKTIME_ATOMS = new Set(['moov', 'mdat', 'wide', 'free']);

/** ISO base media files (MP4, QuickTime, 3GP, M4A, HEIF) by their first box and its major brand. */
function isoMedia(bytes: Buffer): Media | undefined {
  if (bytes.length < 12) return undefined;
  const box = bytes.toString('latin1', 4, 8);
  if (QUICKTIME_ATOMS.has(box) && plausibleBoxSize(bytes)) return QUICKTIME;
  if (box !== 'ftyp') return undefined;
  const brand = bytes.toString('latin1', 8, 12);
  if (HEIF_BRANDS.has(brand)) return HEIF;
  if (brand === 'qt  ') return QUICKTIME;
  if (MP4_AUDIO_BRANDS.has(brand)) return M4A;
  if (brand.startsWith('3g2')) return THREE_G2;
  if (brand.startsWith('3gp')) return THREE_GP;
  return MP4;
}

/** A first box's size that fits the file (0: up to its end; 1: a 64-bit size follows), so text is not taken for one. */
function plausibleBoxSize(bytes: Buffer): boolean {
  const size = bytes.readUInt32BE(0);
  return size <= 1 || (size >= 8 && size <= bytes.length);
}

/** Images browsers or players show that the renderer does not read: icons, bitmaps, JPEG XL, JPEG 2000. */
function otherImage(bytes: Buffer): Media | undefined {
  if (bytes.length >= 6 && bytes.readUInt32BE(0) === 0x00000100 && bytes.readUInt16LE(4) > 0) return ICO;
  if (isBmp(bytes)) return BMP;
  if (startsWith(bytes, 0, '\xff\x0a') || startsWith(bytes, 0, '\0\0\0\x0cJXL \r\n\x87\n')) return JXL;
  if (startsWith(bytes, 0, '\0\0\0\x0cjP  \r\n\x87\n')) return JP2;
  return undefined;
}

/** A BMP: `BM`, two reserved words of zero and a known DIB header size (two letters alone are too common). */
function isBmp(bytes: Buffer): boolean {
  if (bytes.length < 18 || !startsWith(bytes, 0, 'BM') || bytes.readUInt32LE(6) !== 0) return false;
  return [12, 40, 52, 56, 64, 108, 124].includes(bytes.readUInt32LE(14));
}

function otherVideo(bytes: Buffer): Media | undefined {
  // An EBML header names its DocType within its first bytes.
  if (startsWith(bytes, 0, '\x1a\x45\xdf\xa3')) return bytes.subarray(0, 64).includes('webm', 0, 'latin1') ? WEBM : MATROSKA;
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'AVI ')) return AVI;
  if (bytes.length > 376 && bytes[0] === 0x47 && bytes[188] === 0x47 && bytes[376] === 0x47) return MPEG_TS;
  if (startsWith(bytes, 0, '\0\0\x01\xba')) return MPEG_PS;
  return undefined;
}

function audio(bytes: Buffer): Media | undefined {
  // Each signature with the binary byte after it (a version, a block type): text may start with the letters.
  if (startsWith(bytes, 0, 'OggS\0')) return bytes.subarray(0, 128).includes('theora', 0, 'latin1') ? OGG_VIDEO : OGG_AUDIO;
  if (startsWith(bytes, 0, 'RIFF') && startsWith(bytes, 8, 'WAVE')) return WAV;
  if (startsWith(bytes, 0, 'fLaC') && bytes.length > 4 && (bytes[4]! & 0x7f) === 0) return FLAC;
  if (startsWith(bytes, 0, 'FORM') && (startsWith(bytes, 8, 'AIFF') || startsWith(bytes, 8, 'AIFC'))) return AIFF;
  if ((startsWith(bytes, 0, 'ID3') && bytes[3]! >= 2 && bytes[3]! <= 4) || isMpegAudioFrame(bytes)) return MP3;
  // ADTS: 12 sync bits, then layer 00 (an MPEG audio frame, above, has another layer).
  if (bytes.length >= 7 && bytes[0] === 0xff && (bytes[1]! & 0xf6) === 0xf0) return AAC;
  return undefined;
}

/** An MPEG audio frame header: 11 sync bits, a version other than reserved and layer I, II or III. */
function isMpegAudioFrame(bytes: Buffer): boolean {
  if (bytes.length < 4 || bytes[0] !== 0xff || (bytes[1]! & 0xe0) !== 0xe0) return false;
  const version = (bytes[1]! >> 3) & 0x3;
  const layer = (bytes[1]! >> 1) & 0x3;
  const bitrate = bytes[2]! >> 4;
  return version !== 1 && layer !== 0 && bitrate !== 0xf;
}

function startsWith(bytes: Buffer, offset: number, signature: string): boolean {
  if (bytes.length < offset + signature.length) return false;
  for (let i = 0; i < signature.length; i++) {
    if (bytes[offset + i] !== signature.charCodeAt(i)) return false;
  }
  return true;
}

/** Valid UTF-8, allowing a character cut at the end of the sample. */
function isUtf8Prefix(head: Buffer): boolean {
  for (let cut = 0; cut < 4 && cut < head.length; cut++) {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return true;
    } catch {
      // try without the last bytes: a character may be cut there
    }
  }
  return false;
}

function isJson(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}
