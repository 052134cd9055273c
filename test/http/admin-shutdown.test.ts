import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { startPictor } from '../helpers/pictor.ts';

describe('admin listener shutdown', () => {
  it('answers a request in flight at stop() with Connection: close, and the stop completes', async () => {
    const t = await startPictor();
    const body = JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/photo.jpg` } } });
    // A keep-alive client, as a CDN or proxy would hold; the body is sent in two parts, so the request is
    // in flight when the stop begins.
    const agent = new http.Agent({ keepAlive: true });
    let stopped = false;
    try {
      const response = new Promise<http.IncomingMessage>((resolve, reject) => {
        const request = http.request(`${t.adminUrl}/api/v1/purge`, {
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json', 'content-length': Buffer.byteLength(body) },
        });
        request.on('response', resolve).on('error', reject);
        request.write(body.slice(0, 10));
        setTimeout(() => {
          const stopping = t.stop().then(() => void (stopped = true));
          setTimeout(() => request.end(body.slice(10)), 100);
          void stopping;
        }, 100);
      });
      const answer = await response;
      answer.resume();
      assert.equal(answer.statusCode, 200);
      assert.equal(answer.headers.connection, 'close');
      const deadline = Date.now() + 5000;
      while (!stopped && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(stopped, 'stop() completes without waiting for the kept-alive connection');
    } finally {
      agent.destroy();
      if (!stopped) await t.stop();
    }
  });
});
