/**
 * `dl`: `Content-Disposition: attachment` under a name that is safe to save (RFC 6266). The name asked for
 * loses any folder part, control and formatting characters (a right-to-left override could disguise the
 * extension) and the characters file systems refuse; its extension becomes that of the format actually
 * served. `filename` is an ASCII fallback; `filename*` carries the name in UTF-8 (RFC 8187).
 */
import { extensionFor } from '../render/detect.ts';

/** Characters of the name kept, before the extension (file systems take 255 bytes; UTF-8 may need 4 a character). */
const MAX_NAME = 60;

export function contentDisposition(wanted: string, contentType: string, assetPath: string): string {
  const extension = extensionFor(contentType);
  const base = safeBase(wanted) || safeBase(decodePath(assetPath)) || 'download';
  const name = extension ? `${base}.${extension}` : base;
  const ascii = name.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').replace(/[%\\"]/g, '_').replace(/\s+(\.[^.]*)$/, '$1');
  const fallback = /[^._ -]/.test(ascii.replace(/\.[^.]*$/, '')) ? ascii : `download${extension ? `.${extension}` : ''}`;
  return attachment(name, fallback);
}

/** The header value for a file saved as `name`; `ascii` is the plain `filename` older clients read instead. */
export function attachment(name: string, ascii = name): string {
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

/** The name without folders, unsafe characters, leading dots or its own extension. */
function safeBase(value: string): string {
  const leaf = value.split(/[/\\]/).pop() ?? '';
  const cleaned = leaf
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, '')
    .replace(/[<>:"|?*;]/g, '_')
    .replace(/\s+/g, ' ')
    .replace(/\.[^.]*$/, '')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  return [...cleaned].slice(0, MAX_NAME).join('').trim();
}

function decodePath(assetPath: string): string {
  try {
    return decodeURIComponent(assetPath);
  } catch {
    return assetPath;
  }
}

/** RFC 8187 value characters: attr-char as is, everything else percent-encoded UTF-8. */
function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
