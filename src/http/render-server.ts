import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HintHeaders } from '../delivery/client-hints.ts';
import type { DeliveryRequest, DeliveryService } from '../delivery/delivery-service.ts';
import type { DeliveryResponse, StoredBytes } from '../delivery/respond.ts';
import { RENDER_SECURITY_HEADERS } from '../delivery/security-headers.ts';
import type { Health } from '../observability/health.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import { failureLevel, toPictorError } from '../failures.ts';
import { requestIdGenerator } from './request-id.ts';

/**
 * The render listener: the imgix Rendering API (`GET /<path>?<params>`) and `/healthz`.
 *
 * Built on node:http rather than Fastify (which serves the admin API): this listener has a single route, so a
 * router and plugin system buy nothing, and on the cache-hit path they cost throughput and tail latency
 * (BENCHMARKS.md, *Cache hit*).
 */
export interface RenderListener {
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
}

/**
 * What a response to a request through an nginx edge needs before it leaves (edges/nginx-recorder.ts): its
 * cache key recorded, or a header that keeps the edge from caching it.
 */
export interface EdgeRecording {
  /** Undefined when the request names no edge; else the response to send, once recorded. */
  record(rawHeaders: readonly string[], response: DeliveryResponse): Promise<DeliveryResponse> | undefined;
  /** Headers for an error answer (no edge key can purge it): the edge must not keep it. */
  errorHeaders(rawHeaders: readonly string[]): readonly string[];
}

/** Error responses are cached briefly by clients and CDNs, like imgix's `cache_ttl_error` (300 s). */
const ERROR_MAX_AGE = 300;

/**
 * @param unavailable why this node must not serve now (a cluster node that cannot vouch for its freshness,
 *   cluster/cluster-node.ts), or undefined. Checked when a request arrives and again before its answer is
 *   written: renders and `/healthz` answer 503 meanwhile, so an edge's probe stops sending traffic here.
 */
export function createRenderServer(
  delivery: DeliveryService,
  metrics: Metrics,
  logger: Logger,
  health: Health,
  unavailable: () => string | undefined = () => undefined,
  edges?: EdgeRecording,
): RenderListener {
  const log = logger.child({ listener: 'render' });
  const nextId = requestIdGenerator();
  let closing = false;
  /** Files being sent (video outputs): a paused player would hold close() for as long as it stays connected. */
  const streaming = new Set<http.ServerResponse>();

  const finish = (request: http.IncomingMessage, id: string, started: number, status: number, cache: 'hit' | 'miss' | 'none'): void => {
    metrics.countRequest('render', status, cache);
    // No log line per cache hit at the default level: hits are counted in /metrics instead.
    const level = status >= 500 ? 'warn' : cache === 'hit' ? 'debug' : 'info';
    if (log.isLevelEnabled(level)) {
      log[level]({ reqId: id, method: request.method, url: request.url, status, cache, ms: Math.round(performance.now() - started) }, 'request');
    }
  };
  const refuse = (request: http.IncomingMessage, response: http.ServerResponse, id: string, started: number, reason: string): void => {
    const headers = withRequestHeaders(['cache-control', 'no-store', 'retry-after', '1'], id, closing);
    if (request.url === '/healthz') {
      const body = Buffer.from(JSON.stringify({ status: 'unavailable', reason }));
      send(response, request.method, 503, [...JSON_HEADERS, 'content-length', String(body.length), ...headers], body);
    } else {
      sendText(response, request.method, 503, `Pictor cannot serve from this node now: ${reason}. Try again shortly.`, headers);
    }
    finish(request, id, started, 503, 'none');
  };
  const reply = (request: http.IncomingMessage, response: http.ServerResponse, id: string, started: number, result: DeliveryResponse): void => {
    const recording = edges?.record(request.rawHeaders, result);
    if (recording !== undefined) {
      void recording.then((recorded) => write(request, response, id, started, recorded));
      return;
    }
    write(request, response, id, started, result);
  };
  const write = (request: http.IncomingMessage, response: http.ServerResponse, id: string, started: number, result: DeliveryResponse): void => {
    const reason = unavailable();
    if (reason !== undefined) return refuse(request, response, id, started, reason);
    if (result.file) sendFile(response, request.method, result.status, withRequestHeaders(result.headers, id, closing), result.file, streaming);
    else send(response, request.method, result.status, withRequestHeaders(result.headers, id, closing), result.body);
    finish(request, id, started, result.status, result.cache);
  };
  const fail = (request: http.IncomingMessage, response: http.ServerResponse, id: string, started: number, error: unknown): void => {
    const pictorError = toPictorError(error);
    const level = failureLevel(pictorError);
    if (level) log[level]({ reqId: id, err: error, url: request.url }, 'render failed');
    // A takedown's 451 lasts only until it is lifted: no cache may keep it.
    const cacheControl = pictorError.status >= 500 || pictorError.code === 'TAKEN_DOWN' ? 'no-store' : `public, max-age=${ERROR_MAX_AGE}`;
    const edgeHeaders = edges?.errorHeaders(request.rawHeaders) ?? [];
    const headers = ['cache-control', cacheControl, ...Object.entries(pictorError.headers ?? {}).flat(), ...edgeHeaders];
    sendText(response, request.method, pictorError.status, pictorError.message, withRequestHeaders(headers, id, closing));
    finish(request, id, started, pictorError.status, 'none');
  };

  // Closures are made only for requests that wait (a miss): a memory hit is answered within this call.
  const server = http.createServer((request, response) => {
    const id = nextId();
    const started = performance.now();
    const method = request.method;
    if (method === 'OPTIONS') {
      // CORS preflight: players on other origins fetch playlists, segments and ranges of videos.
      send(response, method, 204, withRequestHeaders(PREFLIGHT, id, closing), Buffer.alloc(0));
      return finish(request, id, started, 204, 'none');
    }
    if (method !== 'GET' && method !== 'HEAD') {
      sendText(response, method, 405, 'Only GET and HEAD are allowed here.', withRequestHeaders(['allow', 'GET, HEAD'], id, closing));
      return finish(request, id, started, 405, 'none');
    }
    const target = request.url ?? '/';
    const reason = unavailable();
    if (reason !== undefined) return refuse(request, response, id, started, reason);
    if (target === '/healthz') {
      // 200 while degraded too: the node still serves, and the body says what is wrong.
      const body = health.ok ? HEALTHY : Buffer.from(JSON.stringify(health.document()));
      const headers = withRequestHeaders([...JSON_HEADERS, 'cache-control', 'no-store', 'content-length', String(body.length)], id, closing);
      send(response, method, 200, headers, body);
      return finish(request, id, started, 200, 'none');
    }
    let result: DeliveryResponse | Promise<DeliveryResponse>;
    try {
      result = delivery.handle(deliveryRequest(target, request.rawHeaders));
    } catch (error) {
      return fail(request, response, id, started, error);
    }
    if (result instanceof Promise) {
      result.then(
        (settled) => reply(request, response, id, started, settled),
        (error: unknown) => fail(request, response, id, started, error),
      );
    } else {
      reply(request, response, id, started, result);
    }
  });
  server.keepAliveTimeout = 65_000;

  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        closing = true;
        if (!server.listening) return resolve();
        server.close(() => resolve()); // waits for in-flight requests
        server.closeIdleConnections();
        // A video's bytes still being sent are cut: its player asks again for the rest with a Range request.
        for (const response of streaming) response.destroy();
      }),
  };
}

const HEALTHY = Buffer.from('{"status":"ok"}');

/** Every answer written here carries the security headers too (see delivery/security-headers.ts). */
const JSON_HEADERS = ['content-type', 'application/json; charset=utf-8', ...RENDER_SECURITY_HEADERS];
const TEXT_HEADERS = ['content-type', 'text/plain; charset=utf-8', ...RENDER_SECURITY_HEADERS];

const PREFLIGHT = [
  'access-control-allow-origin', '*',
  'access-control-allow-methods', 'GET, HEAD, OPTIONS',
  'access-control-allow-headers', 'Range, If-None-Match',
  'access-control-max-age', '86400',
  'allow', 'GET, HEAD, OPTIONS',
  'content-length', '0',
  ...RENDER_SECURITY_HEADERS,
];

/**
 * The request headers delivery reads, straight from the raw list: `request.headers` would build an
 * object of every header a browser sends (a dozen or more) on each request. Same rules as node:http's:
 * the first Host (and Range) wins, repeated Accept and If-None-Match values are joined with ", ".
 */
function deliveryRequest(target: string, raw: string[]): DeliveryRequest {
  let host: string | undefined;
  let accept: string | undefined;
  let ifNoneMatch: string | undefined;
  let range: string | undefined;
  let hints: HintHeaders | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.length === 5) {
      const lower = name.toLowerCase();
      if (range === undefined && lower === 'range') range = value;
      else if (lower === 'width') (hints ??= {}).width = value;
    } else if (name.length === 4) {
      if (host === undefined && name.toLowerCase() === 'host') host = value;
    } else if (name.length === 6) {
      if (name.toLowerCase() === 'accept') accept = accept === undefined ? value : `${accept}, ${value}`;
    } else if (name.length === 13) {
      if (name.toLowerCase() === 'if-none-match') ifNoneMatch = ifNoneMatch === undefined ? value : `${ifNoneMatch}, ${value}`;
    } else if (name.length === 3 || name.length === 9 || name.length === 10 || name.length === 12) {
      hints = readHint(name.toLowerCase(), value, hints);
    }
  }
  return hints === undefined ? { host, target, accept, ifNoneMatch, range } : { host, target, accept, ifNoneMatch, range, hints };
}

/** Client hint headers (delivery/client-hints.ts decides which apply); other headers leave `hints` as it was. */
function readHint(name: string, value: string, hints: HintHeaders | undefined): HintHeaders | undefined {
  if (name === 'dpr') return { ...hints, dpr: value };
  if (name === 'save-data') return { ...hints, saveData: value };
  if (name === 'sec-ch-dpr') return { ...hints, secChDpr: value };
  if (name === 'sec-ch-width') return { ...hints, secChWidth: value };
  return hints;
}

/**
 * Every response carries its request id, and `Connection: close` once the listener is shutting down —
 * decided when the response is written, so a request in flight at close() ends its connection too:
 * server.close() would otherwise wait keepAliveTimeout (65 s) for it, past most stop grace periods.
 */
function withRequestHeaders(headers: readonly string[], id: string, closing: boolean): string[] {
  return closing ? [...headers, 'x-request-id', id, 'connection', 'close'] : [...headers, 'x-request-id', id];
}

/** `headers` must carry Content-Length when there is a body (the delivery layer sets it; sendText here). */
function send(response: http.ServerResponse, method: string | undefined, status: number, headers: string[], body: Buffer): void {
  response.writeHead(status, headers);
  response.end(method === 'HEAD' ? undefined : body);
}

/** A stored file (a video output), streamed: never read into memory whole. */
function sendFile(
  response: http.ServerResponse,
  method: string | undefined,
  status: number,
  headers: string[],
  file: StoredBytes,
  streaming: Set<http.ServerResponse>,
): void {
  response.writeHead(status, headers);
  if (method === 'HEAD' || file.end < file.start) return void response.end();
  streaming.add(response);
  response.on('close', () => streaming.delete(response));
  // A file deleted between the answer's headers and its bytes (a new version replaced it): the connection is cut.
  file.open().then(
    (stream) => {
      stream.on('error', () => response.destroy());
      response.on('close', () => stream.destroy());
      stream.pipe(response);
    },
    () => response.destroy(),
  );
}

function sendText(response: http.ServerResponse, method: string | undefined, status: number, message: string, headers: string[]): void {
  const body = Buffer.from(`${message}\n`);
  send(response, method, status, [...TEXT_HEADERS, 'content-length', String(body.length), ...headers], body);
}
