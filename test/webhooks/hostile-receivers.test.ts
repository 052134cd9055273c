import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.ts';

/**
 * A webhook's URL is whatever an admin typed: receivers that redirect, never answer, or answer without end.
 * Each is a real HTTP server on loopback; Pictor runs with a one-second delivery timeout (`--webhook-timeout 1`).
 */
interface RawServer {
  url: string;
  requests: number;
  /** Bytes of answer body written before Pictor went away. */
  written: number;
  close(): Promise<void>;
}

async function rawServer(handler: (response: http.ServerResponse, server: RawServer) => void): Promise<RawServer> {
  const state: RawServer = { url: '', requests: 0, written: 0, close: async () => undefined };
  const server = http.createServer((request, response) => {
    state.requests++;
    request.resume();
    request.on('end', () => handler(response, state));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

describe('webhook receivers that answer as no receiver should', () => {
  let t: TestPictor;
  const open: { stop?(): Promise<void>; close?(): Promise<void> }[] = [];
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(20, 20, [0, 0, 255]) }, options: { outboundAllow: '127.0.0.1/32', webhookTimeoutSeconds: '1' } });
  });
  after(async () => {
    await Promise.all(open.map((part) => (part.stop ? part.stop() : part.close!())));
    await t?.stop();
  });

  async function api(method: string, path: string, body?: unknown): Promise<any> {
    const response = await fetch(`${t.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response.status === 204 ? undefined : response.json();
  }
  async function subscribe(url: string): Promise<{ id: string; secret: string }> {
    const created = await api('POST', '/api/v1/webhooks', { data: { type: 'webhooks', attributes: { url, events: ['purge.completed'] } } });
    return { id: created.data.id, secret: created.data.attributes.secret };
  }
  const firstAttempt = async (webhookId: string): Promise<any> => {
    let attempt: any;
    await eventually(async () => {
      attempt = (await api('GET', `/api/v1/webhooks/${webhookId}/deliveries`)).data[0]?.attributes.attempts[0];
      return attempt !== undefined;
    });
    return attempt;
  };

  it('a redirect is never followed: the address it names gets nothing, and the try counts as not delivered', async () => {
    const elsewhere = await startReceiver();
    const redirecting = await rawServer((response) => response.writeHead(307, { location: elsewhere.url }).end());
    open.push(elsewhere, redirecting);
    const hook = await subscribe(redirecting.url);
    try {
      await t.purge(`${t.renderUrl}/a.jpg?redirect`);
      const attempt = await firstAttempt(hook.id);
      assert.equal(attempt.status, 307);
      const delivery = (await api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).data[0].attributes;
      assert.equal(delivery.state, 'pending', 'tried again later, as any other answer that is not 2xx');
      assert.equal(redirecting.requests, 1);
      assert.equal(elsewhere.received.length + elsewhere.rejected.length, 0);
    } finally {
      await api('DELETE', `/api/v1/webhooks/${hook.id}`);
    }
  });

  it('a receiver that never answers is given up at the timeout, and holds up no other receiver meanwhile', async () => {
    const hung: Receiver = await startReceiver();
    const healthy: Receiver = await startReceiver();
    open.push(hung, healthy);
    hung.answer = () => 'hold';
    const slow = await subscribe(hung.url);
    const fine = await subscribe(healthy.url);
    hung.secret = slow.secret;
    healthy.secret = fine.secret;
    try {
      const purgeId = (await t.purge(`${t.renderUrl}/a.jpg?hung`)).body.data!.id;
      await eventually(() => healthy.received.some((message) => message.data.purge_id === purgeId));
      const attempt = await firstAttempt(slow.id);
      assert.equal(attempt.status, null);
      assert.equal(attempt.error, 'no answer within the timeout');
      assert.ok(hung.received.length >= 1, 'the hung receiver was asked, and never answered');
      // Had the deliveries gone one after the other, the healthy one would have waited out the whole timeout.
      const arrived = healthy.received.find((message) => message.data.purge_id === purgeId)!.at;
      assert.ok(arrived - hung.received[0]!.at < 500, 'the healthy receiver had its message long before the hung one was given up');
    } finally {
      hung.release(true);
      await api('DELETE', `/api/v1/webhooks/${slow.id}`);
      await api('DELETE', `/api/v1/webhooks/${fine.id}`);
    }
  });

  it('an answer without end is read only as far as the excerpt it keeps', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const endless = await rawServer((response, state) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.on('error', () => undefined);
      const pump = (): void => {
        // Up to 256 MiB: far more than is ever read.
        while (!response.destroyed && state.written < 256 * 1024 * 1024) {
          state.written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    open.push(endless);
    const hook = await subscribe(endless.url);
    try {
      await t.purge(`${t.renderUrl}/a.jpg?endless`);
      const attempt = await firstAttempt(hook.id);
      assert.equal(attempt.status, 200);
      assert.equal(attempt.response, 'a'.repeat(1024));
      assert.ok(endless.written < 32 * 1024 * 1024, `Pictor stopped reading (${endless.written} bytes written)`);
    } finally {
      await api('DELETE', `/api/v1/webhooks/${hook.id}`);
    }
  });
});
