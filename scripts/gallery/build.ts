/**
 * Builds the reference gallery: starts a real Pictor on loopback over the sample inputs, requests every
 * sample URL over HTTP, writes each response beside an index.html that shows it with its URL, status,
 * content type and size, then stops the server.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { extensionFor } from '../../src/render/detect.ts';
import { startPictor } from '../../test/helpers/pictor.ts';
import { FAMILIES, type GalleryFamily, type GallerySample } from './families.ts';
import { renderPage } from './page.ts';
import { sampleAssets } from './samples.ts';

export interface GalleryEntry extends GallerySample {
  familyId: string;
  /** The URL as requested (encoded), relative to the render listener. */
  requestPath: string;
  /** The same URL with non-ASCII text shown as letters (browsers encode it again when it is pasted). */
  displayUrl: string;
  status: number;
  contentType: string;
  bytes: number;
  /** The response body's file, relative to the output folder. */
  file: string;
  /** The `X-Pictor-Unsupported` header, when the response has one. */
  unsupported?: string;
  /** Pictor named a parameter it did not apply, in a family meant to show it applied. */
  notApplied: boolean;
  /** The body as text, for responses that are not images (JSON, CSS, BlurHash, error documents). */
  text?: string;
}

export interface GalleryResult {
  htmlFile: string;
  entries: GalleryEntry[];
}

/** Responses slower than this are reported as failures rather than waited for. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Requests in flight at once: enough to overlap I/O with rendering without crowding a small machine. */
const PARALLEL_REQUESTS = 2;

export async function buildGallery(options: { outDir: string; families?: readonly GalleryFamily[] }): Promise<GalleryResult> {
  const families = options.families ?? FAMILIES;
  await fs.rm(options.outDir, { recursive: true, force: true });
  await fs.mkdir(options.outDir, { recursive: true });
  const pictor = await startPictor({ assets: await sampleAssets() });
  try {
    const work = families.flatMap((family) => family.samples.map((sample, index) => ({ family, sample, index })));
    const entries: GalleryEntry[] = new Array(work.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < work.length) {
        const i = next++;
        const { family, sample, index } = work[i]!;
        const entry = await fetchSample(pictor.renderUrl, options.outDir, family.id, index + 1, sample);
        entry.notApplied = entry.unsupported !== undefined && !family.expectUnsupported;
        entries[i] = entry;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_REQUESTS }, worker));
    const htmlFile = path.join(options.outDir, 'index.html');
    await fs.writeFile(htmlFile, renderPage(families, entries));
    return { htmlFile, entries };
  } finally {
    await pictor.stop();
  }
}

async function fetchSample(renderUrl: string, outDir: string, familyId: string, number: number, sample: GallerySample): Promise<GalleryEntry> {
  const requestPath = encodeSampleUrl(sample.url);
  const base = { ...sample, familyId, requestPath, displayUrl: legibleUrl(requestPath), notApplied: false };
  let response: Response;
  let body: Buffer;
  try {
    response = await fetch(renderUrl + requestPath, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    body = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    return { ...base, status: 0, contentType: '', bytes: 0, file: '', text: `request failed: ${(error as Error).message}` };
  }
  const contentType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const file = `${familyId}-${String(number).padStart(2, '0')}.${extensionOf(contentType)}`;
  await fs.writeFile(path.join(outDir, file), body);
  const entry: GalleryEntry = { ...base, status: response.status, contentType, bytes: body.length, file };
  const unsupported = response.headers.get('x-pictor-unsupported');
  if (unsupported) entry.unsupported = unsupported;
  if (response.status !== 200 || !contentType.startsWith('image/')) entry.text = readable(body, contentType);
  return entry;
}

/**
 * Percent-encodes a URL written as a person reads it (spaces, Arabic, CJK) for the wire, leaving the
 * characters imgix URLs use as they are (`/` in `mark=/logo.png`, `,` in lists, `:` in `ar`), so the
 * copyable URL stays legible.
 */
export function encodeSampleUrl(url: string): string {
  const [pathPart, query] = url.split('?', 2) as [string, string | undefined];
  const encodedPath = pathPart.split('/').map(encodeURIComponent).join('/');
  if (query === undefined) return encodedPath;
  const pairs = query.split('&').map((pair) => {
    const at = pair.indexOf('=');
    if (at < 0) return encodeLegibly(pair);
    return `${encodeLegibly(pair.slice(0, at))}=${encodeLegibly(pair.slice(at + 1))}`;
  });
  return `${encodedPath}?${pairs.join('&')}`;
}

function encodeLegibly(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/').replace(/%2C/g, ',').replace(/%3A/g, ':');
}

/** Decodes the percent-encoded runs that stand for non-ASCII characters; ASCII stays encoded. */
export function legibleUrl(encoded: string): string {
  return encoded.replace(/(?:%[0-9A-F]{2})+/gi, (run) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(run);
    } catch {
      return run;
    }
    return Array.from(decoded, (char) => (char.charCodeAt(0) < 128 ? encodeURIComponent(char) : char)).join('');
  });
}


function extensionOf(contentType: string): string {
  return extensionFor(contentType) ?? 'bin';
}

/** A text body as a person reads it: JSON indented, anything else as it is. */
function readable(body: Buffer, contentType: string): string {
  const text = body.toString('utf8');
  if (!contentType.includes('json')) return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
