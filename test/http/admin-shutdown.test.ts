import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { startPictor } from '../helpers/pictor.ts';

describe('admin listener shutdown', () => {
  it('answers a request in flight at stop() with Connection: close, and the stop completes', { timeout: 120_000 }, async () => {
    const t = await startPictor();
    const body = JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/photo.jpg` } } });
    // A keep-alive client, as a CDN or proxy would hold; the body is sent in two parts, so the request is
    // in flight when the stop begins.
    const agent = new http.Agent({ keepAlive: true });
    let stopping: Promise<void> | undefined;
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
          stopping = t.stop();
          setTimeout(() => request.end(body.slice(10)), 100);
        }, 100);
      });
      const answer = await response;
      answer.resume();
      assert.equal(answer.statusCode, 200);
      assert.equal(answer.headers.connection, 'close');
      // The kept-alive connection stays open until `finally`: a stop that waited for it would never end, and
      // the test would fail on its timeout.
      await stopping;
    } finally {
      agent.destroy();
      await (stopping ?? t.stop());
    }
  });
});
