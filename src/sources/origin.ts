/**
 * What every Source type implements: fetch one asset by its canonical path, conditionally when the caller
 * holds validators. Implementations never throw for a missing asset; they throw PictorError for refusals
 * (path escapes, size limits) and for an origin that failed (so a purge can report `failed`).
 */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export type OriginResult =
  | { kind: 'found'; body: Buffer; contentType: string; validators: Validators; cacheControl?: string }
  | { kind: 'not-modified'; validators: Validators; cacheControl?: string }
  | { kind: 'missing' };

export interface Origin {
  fetch(canonicalPath: string, validators?: Validators): Promise<OriginResult>;
  /**
   * Writes a file (the Assets API's uploads): folder and S3-type origins can, others have no `write`. Refuses
   * with CONFLICT when the file exists and `overwrite` is false, and with the same refusals as `fetch` for a
   * path that escapes the origin; resolves once the file is stored durably.
   */
  write?(canonicalPath: string, file: OriginFile): Promise<'created' | 'replaced'>;
}

export interface OriginFile {
  body: Buffer;
  contentType: string;
  overwrite: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif',
  tif: 'image/tiff', tiff: 'image/tiff', svg: 'image/svg+xml', ico: 'image/x-icon', bmp: 'image/bmp',
  heic: 'image/heic', json: 'application/json', txt: 'text/plain; charset=utf-8', pdf: 'application/pdf',
  mp4: 'video/mp4', m4v: 'video/x-m4v', mov: 'video/quicktime', mkv: 'video/x-matroska', webm: 'video/webm', css: 'text/css', js: 'text/javascript', html: 'text/html; charset=utf-8',
};

export function contentTypeFromPath(filePath: string): string {
  const dot = filePath.lastIndexOf('.');
  const ext = dot === -1 ? '' : filePath.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}
