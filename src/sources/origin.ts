/**
 * What every Source type implements: fetch one asset by its canonical path, conditionally when the caller
 * holds validators. Implementations never throw for a missing asset; they throw PictorError for refusals
 * (path escapes, size limits) and for an origin that failed (so a purge can report `failed`).
 */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

/**
 * What an origin served, named independently of the Source and the path that led to it (see `ContentId`):
 * `folder:<real path, after symlinks>`, `s3:<endpoint host or "aws">/<bucket>/<key>`, `url:<final URL, after
 * redirects>`. Two Sources on one folder, a symlink and its target, a webfolder and a webproxy of one URL
 * each name the same object.
 */
export type OriginObject = string;

export type OriginResult =
  | { kind: 'found'; body: Buffer; contentType: string; validators: Validators; cacheControl?: string; object: OriginObject }
  | { kind: 'not-modified'; validators: Validators; cacheControl?: string; object: OriginObject }
  | { kind: 'missing' };

export interface Origin {
  fetch(canonicalPath: string, validators?: Validators): Promise<OriginResult>;
  /**
   * The object a path would name, without reading it: for a takedown of a file the origin does not have (yet).
   * Undefined when the origin cannot tell (a folder outside its root).
   */
  objectFor?(canonicalPath: string): Promise<OriginObject | undefined>;
  /**
   * Writes a file (the Assets API's uploads): folder and S3-type origins can, others have no `write`. Refuses
   * with CONFLICT when the file exists and `overwrite` is false, and with the same refusals as `fetch` for a
   * path that escapes the origin; resolves once the file is stored durably.
   */
  write?(canonicalPath: string, file: OriginFile): Promise<'created' | 'replaced'>;
}

/**
 * An identity of content a cached entry was built from, as takedowns match it (takedown/takedown-gate.ts):
 * an origin object (prefixed by its kind), or `sha256:<hex>` of the bytes. Neither alone suffices: a copy
 * has other objects and the same bytes; a file replaced since the takedown has other bytes and the same object.
 */
export type ContentId = string;

/** The content ids of one origin file: its object (unknown for entries recorded by older versions) and its bytes. */
export function contentIds(object: OriginObject | null | undefined, sha256: string | null | undefined): ContentId[] {
  const ids: ContentId[] = [];
  if (object) ids.push(object);
  if (sha256) ids.push(`sha256:${sha256}`);
  return ids;
}

export interface OriginFile {
  body: Buffer;
  contentType: string;
  overwrite: boolean;
}

/**
 * Types by file extension: what an origin without types of its own (a folder) reports, and the names an upload
 * may have (assets/upload-check.ts). The render listener never serves a file by this type: passed-through
 * files are served as their bytes are (render/media-types.ts).
 */
const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif',
  tif: 'image/tiff', tiff: 'image/tiff', svg: 'image/svg+xml', ico: 'image/x-icon', bmp: 'image/bmp',
  heic: 'image/heic', heif: 'image/heif', jxl: 'image/jxl', jp2: 'image/jp2', pdf: 'application/pdf',
  mp4: 'video/mp4', m4v: 'video/x-m4v', mov: 'video/quicktime', mkv: 'video/x-matroska', webm: 'video/webm', ogv: 'video/ogg',
  avi: 'video/x-msvideo', m2ts: 'video/mp2t', mpg: 'video/mpeg', mpeg: 'video/mpeg', '3gp': 'video/3gpp', '3g2': 'video/3gpp2',
  mp3: 'audio/mpeg', m4a: 'audio/mp4', aac: 'audio/aac', wav: 'audio/wav', flac: 'audio/flac', ogg: 'audio/ogg', oga: 'audio/ogg',
  opus: 'audio/ogg', weba: 'audio/webm', aif: 'audio/aiff', aiff: 'audio/aiff',
  json: 'application/json', txt: 'text/plain; charset=utf-8', css: 'text/css', js: 'text/javascript', html: 'text/html; charset=utf-8',
};

/** The type an extension stands for; `application/octet-stream` for one not listed, or none. */
export function contentTypeFromPath(filePath: string): string {
  const dot = filePath.lastIndexOf('.');
  const ext = dot === -1 ? '' : filePath.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
