import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { assetScope, prefixScope, sourceScope } from '../../src/cache/freshness.ts';
import { edgeKey } from '../../src/edges/edge-keys.ts';
import { renderVcl } from '../../src/edges/vcl.ts';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { compileVcl, startVarnish, type TestVarnish } from '../helpers/varnish.ts';
import { skipWithout } from '../helpers/tools.ts';

interface EdgeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function edgeRequest(port: number, path: string, options: { method?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<EdgeResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, localAddress: options.localAddress, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** This edge's entry in Cache-Status: the last one (RFC 9211 lists caches from the origin outwards). */
function edgeStatus(response: EdgeResponse): string {
  return String(response.headers['cache-status']).split(',').at(-1)!.trim();
}

describe('renderVcl', () => {
  it('compiles in varnishd, with several backends, purger ranges and a name', { skip: skipWithout('varnish') }, () => {
    compileVcl(renderVcl({ backends: ['127.0.0.1:3000', '[::1]:3001', 'localhost:3002'], purgers: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'], name: 'edge-1' }));
    compileVcl(renderVcl({ backends: ['127.0.0.1:3000'] }));
  });

  it('writes purger ranges as their network', () => {
    const vcl = renderVcl({ backends: ['127.0.0.1:3000'], purgers: ['10.0.0.5/24', '192.168.1.7', 'FD00::1/8'] });
    assert.match(vcl, /acl purgers \{\n {4}"10\.0\.0\.0"\/24;\n {4}"192\.168\.1\.7";\n {4}"fd00::"\/8;\n\}/);
    assert.match(renderVcl({ backends: ['127.0.0.1:3000'] }), /acl purgers \{\n {4}"127\.0\.0\.1";\n {4}"::1";\n\}/);
  });

  it('refuses bad backends, purgers and names with a message naming the value', () => {
    for (const backend of ['127.0.0.1', '127.0.0.1:0', 'host:70000', '::1:80', 'a b:80', 'http://x:80', '"x":80']) {
      assert.throws(() => renderVcl({ backends: [backend] }), (error: Error) => error.message.includes(JSON.stringify(backend)) && /HOST:PORT/.test(error.message), backend);
    }
    for (const purger of ['10.0.0.0/33', 'localhost', '1.2.3', '"; }', '']) {
      assert.throws(() => renderVcl({ backends: ['127.0.0.1:80'], purgers: [purger] }), /is not an IP address or a CIDR range/, purger);
    }
    assert.throws(() => renderVcl({ backends: ['127.0.0.1:80'], name: 'edge"1' }), /Edge name/);
    assert.throws(() => renderVcl({ backends: [] }), /at least one backend/);
  });
});

describe('A real Varnish edge in front of Pictor', { skip: skipWithout('varnish') }, () => {
  let t: TestPictor;
  let edge: TestVarnish;
  let src: string;
  before(async () => {
    t = await startPictor({
      assets: {
        'photos/cat.jpg': await solidImage(40, 30, [200, 10, 10]),
        'photos/dog.jpg': await solidImage(40, 30, [10, 200, 10]),
        'other/fox.jpg': await solidImage(40, 30, [10, 10, 200]),
        'logo.png': await solidImage(8, 8, [0, 0, 255], 'png'),
      },
    });
    src = t.defaultSourceId;
    edge = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`] }), name: 'edge-a' });
    // The backend starts sick until its first /healthz probe answers.
    await eventually(async () => (await edgeRequest(edge.port, '/logo.png')).status === 200);
  });
  after(async () => {
    await edge?.stop();
    await t?.stop();
  });

  const get = (path: string, headers?: Record<string, string>) => edgeRequest(edge.port, path, { headers });
  const purge = (keys: string[], localAddress?: string) => edgeRequest(edge.port, '/', { method: 'PURGE', headers: { 'xkey-purge': keys.join(' ') }, localAddress });
  /** Requests each path once to cache it, and checks the next request is an edge hit. */
  const warm = async (...paths: string[]) => {
    for (const path of paths) {
      await get(path);
      assert.match(edgeStatus(await get(path)), /^edge-a; hit/, path);
    }
  };
  const assertMisses = async (...paths: string[]) => {
    for (const path of paths) assert.match(edgeStatus(await get(path)), /^edge-a; fwd=miss/, path);
  };
  const assertHits = async (...paths: string[]) => {
    for (const path of paths) assert.match(edgeStatus(await get(path)), /^edge-a; hit/, path);
  };

  it('a render is a miss, then a hit at the edge; Cache-Status names the edge after Pictor', async () => {
    const first = await get('/photos/cat.jpg?w=20');
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'image/jpeg');
    assert.match(String(first.headers['cache-status']), /^Pictor-Origin; .*Pictor; fwd=miss.*, edge-a; fwd=miss; stored$/);
    const second = await get('/photos/cat.jpg?w=20');
    assert.match(edgeStatus(second), /^edge-a; hit; ttl=\d+$/);
    assert.deepEqual(second.body, first.body);
  });

  it('keeps xkey from clients, shows it to a purger that asks', async () => {
    const response = await get('/photos/cat.jpg?w=20');
    assert.equal(response.headers.xkey, undefined);
    const debug = await get('/photos/cat.jpg?w=20', { 'x-debug-keys': '1' });
    assert.ok(String(debug.headers.xkey).split(' ').includes(edgeKey(assetScope(src, '/photos/cat.jpg'))));
    const notPurger = await edgeRequest(edge.port, '/photos/cat.jpg?w=20', { headers: { 'x-debug-keys': '1' }, localAddress: '127.0.0.2' });
    assert.equal(notPurger.headers.xkey, undefined);
  });

  it("one PURGE with an asset's key removes every derivative of it, and nothing else", async () => {
    await warm('/photos/cat.jpg?w=20', '/photos/cat.jpg?w=30&fm=png', '/photos/dog.jpg?w=20');
    const response = await purge([edgeKey(assetScope(src, '/photos/cat.jpg'))]);
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-purged'], '2');
    await assertMisses('/photos/cat.jpg?w=20', '/photos/cat.jpg?w=30&fm=png');
    await assertHits('/photos/dog.jpg?w=20');
  });

  it("a sub-image's key removes the composites that use it", async () => {
    await warm('/photos/dog.jpg?w=20&mark=/logo.png', '/photos/dog.jpg?w=21');
    await purge([edgeKey(assetScope(src, '/logo.png'))]);
    await assertMisses('/photos/dog.jpg?w=20&mark=/logo.png');
    await assertHits('/photos/dog.jpg?w=21');
  });

  it("a prefix's key removes what is under the folder; the Source's key removes everything of the Source", async () => {
    await warm('/photos/cat.jpg?w=22', '/photos/dog.jpg?w=22', '/other/fox.jpg?w=22');
    await purge([edgeKey(prefixScope(src, '/photos/'))]);
    await assertMisses('/photos/cat.jpg?w=22', '/photos/dog.jpg?w=22');
    await assertHits('/other/fox.jpg?w=22');

    await warm('/photos/cat.jpg?w=23');
    await purge([edgeKey(sourceScope(src))]);
    await assertMisses('/photos/cat.jpg?w=23', '/other/fox.jpg?w=22');
  });

  it('several keys in one PURGE', async () => {
    await warm('/photos/cat.jpg?w=24', '/other/fox.jpg?w=24');
    const response = await purge([edgeKey(assetScope(src, '/photos/cat.jpg')), edgeKey(assetScope(src, '/other/fox.jpg'))]);
    assert.equal(response.status, 200);
    await assertMisses('/photos/cat.jpg?w=24', '/other/fox.jpg?w=24');
  });

  it('refuses PURGE from an address that is not a purger, and a PURGE without keys', async () => {
    await warm('/photos/cat.jpg?w=25');
    const refused = await purge([edgeKey(sourceScope(src))], '127.0.0.2');
    assert.equal(refused.status, 403);
    await assertHits('/photos/cat.jpg?w=25');
    assert.equal((await edgeRequest(edge.port, '/', { method: 'PURGE' })).status, 400);
    assert.equal((await edgeRequest(edge.port, '/photos/cat.jpg', { method: 'POST' })).status, 405);
  });

  it('flush-all empties the edge', async () => {
    await warm('/photos/cat.jpg?w=26', '/other/fox.jpg?w=26');
    const response = await edgeRequest(edge.port, '/', { method: 'PURGE', headers: { 'x-flush-all': '1' } });
    assert.equal(response.status, 200);
    await assertMisses('/photos/cat.jpg?w=26', '/other/fox.jpg?w=26');
  });

  it('cookies neither split nor bypass the cache', async () => {
    await warm('/photos/cat.jpg?w=27');
    assert.match(edgeStatus(await get('/photos/cat.jpg?w=27', { cookie: 'session=1' })), /^edge-a; hit/);
  });
});

describe('The director drops a backend whose /healthz fails', { skip: skipWithout('varnish') }, () => {
  let t: TestPictor;
  let edge: TestVarnish;
  let other: http.Server;
  let otherHealthy = true;
  let otherRenders = 0;
  before(async () => {
    t = await startPictor({ assets: { 'a.jpg': await solidImage(20, 20, [255, 0, 0]) } });
    other = http.createServer((request, response) => {
      if (request.url === '/healthz') {
        response.writeHead(otherHealthy ? 200 : 503).end();
        return;
      }
      otherRenders++;
      response.writeHead(200, { 'cache-control': 'no-store', 'x-backend': 'other' }).end('other');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    edge = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`, `127.0.0.1:${otherPort}`] }), name: 'edge-b' });
  });
  after(async () => {
    await edge?.stop();
    await t?.stop();
    other?.closeAllConnections();
    await new Promise((resolve) => other?.close(resolve));
  });

  it('round-robins over healthy backends, then sends everything to the one left', async () => {
    const health = (backend: string) => new RegExp(`\\.${backend}\\s.*\\b(healthy|sick)\\b`).exec(edge.admin('backend.list'))?.[1];
    await eventually(() => health('pictor_0') === 'healthy' && health('pictor_1') === 'healthy');
    // Both healthy: misses go to both, in turn.
    const served = new Set<string>();
    for (let w = 1; w <= 4; w++) served.add(String((await edgeRequest(edge.port, `/a.jpg?w=${w}`)).headers['x-backend'] ?? 'pictor'));
    assert.deepEqual([...served].sort(), ['other', 'pictor']);

    otherHealthy = false;
    // Two failed probes of three drop it (about two probe intervals).
    await eventually(() => health('pictor_1') === 'sick', 5000);
    const before = otherRenders;
    for (let w = 2000; w < 2010; w++) {
      const response = await edgeRequest(edge.port, `/a.jpg?w=${w}`);
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-type'], 'image/jpeg');
    }
    assert.equal(otherRenders, before, 'the sick backend gets no requests');
  });
});
