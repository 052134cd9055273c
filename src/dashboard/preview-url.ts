import http from 'node:http';
import { sign } from '../auth/url-signing.ts';
import { isPictorError } from '../errors.ts';
import { canonicalPath } from '../sources/asset-path.ts';
import { routingHosts } from '../sources/domains.ts';
import type { SourceRecord } from '../store/source-record.ts';

/** The rendering parameters the preview form has fields for; anything else goes in the free query field. */
export const PREVIEW_PARAMS = ['w', 'h', 'fit', 'fm', 'q'] as const;
export type PreviewParam = (typeof PREVIEW_PARAMS)[number];

export interface PreviewInput {
  path: string;
  params: Partial<Record<PreviewParam, string>>;
  /** Extra parameters as typed, e.g. `auto=format&sat=-100`. */
  query: string;
}

export interface PreviewTarget {
  /** Encoded path and query, signed when the Source requires it: what the render listener is asked for. */
  target: string;
  signed: boolean;
}

/**
 * The request target for an asset of a Source with some parameters: the path in its canonical encoding
 * (`/image file.jpg` → `/image%20file.jpg`), each parameter value percent-encoded, and `s` last when the Source
 * has secure URLs, signed over exactly that path and query as imgix signs them.
 */
export function previewTarget(record: SourceRecord, input: PreviewInput): PreviewTarget | { error: string; field: 'path' | 'query' } {
  const rawPath = input.path.trim();
  if (rawPath === '') return { error: 'Enter the path of an asset, e.g. /image file.jpg.', field: 'path' };
  let path: string;
  try {
    path = canonicalPath(rawPath.startsWith('/') ? rawPath : `/${rawPath}`);
  } catch (error) {
    if (isPictorError(error)) return { error: error.message, field: 'path' };
    throw error;
  }
  const pairs: [string, string][] = [];
  for (const name of PREVIEW_PARAMS) {
    const value = input.params[name]?.trim();
    if (value) pairs.push([name, value]);
  }
  const given = new Set(pairs.map(([name]) => name));
  for (const piece of input.query.trim().replace(/^\?/, '').split('&')) {
    if (piece.trim() === '') continue;
    const eq = piece.indexOf('=');
    const name = decodeLoosely(eq === -1 ? piece : piece.slice(0, eq)).trim();
    const value = eq === -1 ? '' : decodeLoosely(piece.slice(eq + 1));
    if (name === '') return { error: `"${piece}" has no parameter name; write name=value pairs separated by &.`, field: 'query' };
    if (name === 's' || given.has(name)) continue; // the signature is computed here; the fields above take precedence
    pairs.push([name, value]);
  }
  const query = pairs.map(([name, value]) => `${encodeComponent(name)}=${encodeComponent(value)}`).join('&');
  const token = record.deployment.secure_url_enabled ? record.secureUrlToken : undefined;
  if (token === undefined) return { target: query ? `${path}?${query}` : path, signed: false };
  const signature = sign(token, path, query);
  return { target: `${path}?${query ? `${query}&` : ''}s=${signature}`, signed: true };
}

/** Percent-encoding as the render listener reads it back; `,`, `/` and `:` stay readable (rect=0,0,10,10). */
function encodeComponent(text: string): string {
  return encodeURIComponent(text).replace(/%2C/gi, ',').replace(/%2F/gi, '/').replace(/%3A/gi, ':');
}

/** Form decoding, as the render listener does it (`+` is a space); malformed escapes are kept as typed. */
function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The origin a browser loads the default Source's renders from: `--public-url` when set, else the render
 * listener. A wildcard bind is shown as `localhost`; a browser on another machine reaches it by the host
 * name it used for the dashboard.
 */
export function directRenderOrigin(publicUrl: URL | undefined, renderUrl: string | undefined, dashboardHostname: string | undefined): string | undefined {
  if (publicUrl) return publicUrl.origin;
  if (renderUrl === undefined) return undefined;
  const url = new URL(renderUrl);
  if (url.hostname === 'localhost' && dashboardHostname && /^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/.test(dashboardHostname)) url.hostname = dashboardHostname;
  return url.origin;
}

/**
 * Where the world reaches a Source: the first of its hosts (custom domains, then subdomain hosts). Loopback
 * names get the render listener's port; the scheme is `--public-url`'s, else http (Pictor's own listener).
 */
export function publicBase(record: SourceRecord, options: { baseDomain: string | undefined; publicUrl: URL | undefined; renderUrl: string | undefined }): string | undefined {
  const host = routingHosts(record.deployment, options.baseDomain)[0];
  if (host === undefined) return undefined;
  if (options.publicUrl && options.publicUrl.hostname === host) return options.publicUrl.origin;
  if (LOOPBACK.has(host) && options.renderUrl) {
    const port = new URL(options.renderUrl).port;
    return `http://${host}${port ? `:${port}` : ''}`;
  }
  return `${options.publicUrl?.protocol ?? 'http:'}//${host}`;
}

export interface RenderProbe {
  status: number;
  contentType: string | undefined;
  bytes: number;
  /** The render listener's message, for an error status. */
  message: string | undefined;
}

/**
 * Asks the render listener itself for a target, as the Source's host: the same path every client takes (no
 * second implementation of rendering). Resolves with the response, its body not read yet.
 */
export function requestRender(
  renderUrl: string,
  host: string,
  target: string,
  headers: Record<string, string> = {},
): Promise<http.IncomingMessage> {
  const url = new URL(renderUrl);
  // A wildcard bind is displayed as localhost; connect over loopback.
  const address = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const request = http.request({ host: address, port: Number(url.port || 80), method: 'GET', path: target, headers: { ...headers, host } }, resolve);
    request.setTimeout(60_000, () => request.destroy(new Error('the render listener did not answer in time')));
    request.on('error', reject);
    request.end();
  });
}

/** The render listener's answer to a target, summarised for the preview page (the body is read and counted). */
export async function probeRender(renderUrl: string, host: string, target: string, accept: string | undefined): Promise<RenderProbe> {
  const response = await requestRender(renderUrl, host, target, accept ? { accept } : {});
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (response.statusCode !== 200 && bytes <= 4096) chunks.push(chunk);
  }
  const status = response.statusCode ?? 0;
  return {
    status,
    contentType: response.headers['content-type'],
    bytes,
    message: status >= 400 ? Buffer.concat(chunks).toString('utf8').trim().slice(0, 500) : undefined,
  };
}

/** A request target the preview proxy forwards: a path and query, printable ASCII only (no header or line tricks). */
export function isSafeTarget(target: string): boolean {
  return target.startsWith('/') && !target.startsWith('//') && /^[\x21-\x7e]+$/.test(target);
}
