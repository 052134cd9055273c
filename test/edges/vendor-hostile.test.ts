import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { CloudflareDriver } from '../../src/edges/vendors/cloudflare.ts';
import { FastlyDriver } from '../../src/edges/vendors/fastly.ts';

/**
 * A CDN's API endpoint is whatever the person who added the edge typed: these are endpoints that answer as no
 * vendor does. Each is a real HTTP server on loopback; every vendor driver shares the client under test
 * (src/edges/vendors/vendor-http.ts), so Cloudflare and Fastly stand for all of them.
 */
interface Hostile {
  endpoint: string;
  /** Requests seen, with the headers they carried. */
  seen: http.IncomingHttpHeaders[];
  /** Bytes of answer body written before the client went away. */
  written(): number;
  close(): Promise<void>;
}

async function hostile(handler: (request: http.IncomingMessage, response: http.ServerResponse, count: (bytes: number) => void) => void): Promise<Hostile> {
  const seen: http.IncomingHttpHeaders[] = [];
  let written = 0;
  const server = http.createServer((request, response) => {
    seen.push(request.headers);
    request.resume();
    handler(request, response, (bytes) => (written += bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`,
    seen,
    written: () => written,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const ZONE = '023e105f4ecef8ad9ca31a8372d0c353';
const TOKEN = 'cf-token-hostile-Y2xvdWRmbGFyZQ';
const order = { id: 'purge-1:edge-1', keys: ['a-1'], urls: [] };

describe('a vendor endpoint that answers as no vendor does', () => {
  const open: { close(): Promise<void> }[] = [];
  after(async () => {
    await Promise.all(open.map((part) => part.close()));
  });
  const cloudflare = (endpoint: string, timeoutMs = 5_000): CloudflareDriver => {
    const driver = new CloudflareDriver({ zoneId: ZONE, apiToken: TOKEN, endpoint }, { outboundAllow: ['127.0.0.1/32'], timeoutMs });
    open.push(driver);
    return driver;
  };

  it('a redirect is never followed: the token goes to no other address, and the try is not a purge', async () => {
    const elsewhere = await hostile((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}'));
    const redirecting = await hostile((_request, response) => response.writeHead(307, { location: `${elsewhere.endpoint}/zones/${ZONE}/purge_cache` }).end());
    open.push(elsewhere, redirecting);
    for (const driver of [cloudflare(redirecting.endpoint), new FastlyDriver({ serviceId: 'svc', apiToken: TOKEN, endpoint: redirecting.endpoint }, { outboundAllow: ['127.0.0.1/32'] })]) {
      open.push(driver);
      const outcome = await driver.purge({ ...order, id: `${order.id}-${redirecting.seen.length}` });
      assert.notEqual(outcome.state, 'purged');
      assert.match('error' in outcome ? outcome.error : '', /answered 307/);
    }
    assert.equal(redirecting.seen.length, 2);
    assert.equal(elsewhere.seen.length, 0, 'the address the redirect named was never asked');
  });

  it('an endpoint that never answers is given up within the timeout, as a try to make again', async () => {
    const silent = await hostile(() => undefined);
    open.push(silent);
    const started = Date.now();
    const outcome = await cloudflare(silent.endpoint, 300).purge(order);
    assert.equal(outcome.state, 'retry');
    assert.match(outcome.state === 'retry' ? outcome.error : '', /Cloudflare could not be reached/);
    // Bounded by the timeout, not by the server: a loose upper bound, only to show the try ended by itself.
    assert.ok(Date.now() - started < 10_000);
  });

  it('a body that trickles without end is cut at the timeout', async () => {
    const trickle = await hostile((_request, response, count) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"success":');
      const timer = setInterval(() => {
        if (response.destroyed) return clearInterval(timer);
        response.write(' ');
        count(1);
      }, 20);
      response.on('close', () => clearInterval(timer));
    });
    open.push(trickle);
    const outcome = await cloudflare(trickle.endpoint, 400).purge(order);
    assert.equal(outcome.state, 'retry');
  });

  it('an answer far over the size read is cut after its first quarter mebibyte, and confirms nothing', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const huge = await hostile((_request, response, count) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"success":true,"pad":"');
      let sent = 0;
      const pump = (): void => {
        // Up to 64 MiB, far more than is ever read.
        while (sent < 1024 && !response.destroyed) {
          sent++;
          count(chunk.length);
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end('"}');
      };
      response.on('error', () => undefined);
      pump();
    });
    open.push(huge);
    const outcome = await cloudflare(huge.endpoint).purge(order);
    assert.equal(outcome.state, 'retry');
    assert.match(outcome.state === 'retry' ? outcome.error : '', /answered 200 without success: true/);
    assert.ok(huge.written() < 16 * 1024 * 1024, `the client stopped reading (${huge.written()} bytes written)`);
  });
});
