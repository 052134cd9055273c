import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EdgePurger, MAX_KEYS_HEADER_BYTES, splitKeys } from '../../src/edges/edge-purger.ts';
import { renderVcl } from '../../src/edges/vcl.ts';
import { eventually } from '../helpers/pictor.ts';
import { freePort } from '../helpers/ports.ts';
import { edgeStatus, startVarnish, type TestVarnish } from '../helpers/varnish.ts';
import { skipWithout } from '../helpers/tools.ts';

/** `/<tag>/<anything>` is tagged with `<tag>` and `all`. */
function taggedBackend(): http.Server {
  return http.createServer((request, response) => {
    if (request.url === '/healthz') return void response.end('ok');
    const tag = request.url!.split('/')[1]!;
    response.writeHead(200, { 'cache-control': 'public, max-age=3600', xkey: `${tag} all`, 'content-type': 'text/plain' }).end(request.url);
  });
}

describe('splitKeys', () => {
  it('keeps every key, in order, in groups no longer than the limit', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `a-${String(i).padStart(20, '0')}`);
    const batches = splitKeys(keys);
    assert.ok(batches.length > 1);
    assert.ok(batches.every((batch) => batch.length <= MAX_KEYS_HEADER_BYTES));
    assert.deepEqual(batches.join(' ').split(' '), keys);
    assert.deepEqual(splitKeys(['a', 'b']), ['a b']);
    assert.deepEqual(splitKeys([]), []);
  });
});

describe('EdgePurger against real Varnish edges', { skip: skipWithout('varnish') }, () => {
  let backend: http.Server;
  let one: TestVarnish;
  let two: TestVarnish;
  let refusing: TestVarnish;
  const purger = new EdgePurger({ timeoutMs: 300, tries: 2 });
  const edges = () => [
    { name: one.name, url: one.url },
    { name: two.name, url: two.url },
  ];

  before(async () => {
    backend = taggedBackend();
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    const backends = [`127.0.0.1:${(backend.address() as AddressInfo).port}`];
    [one, two, refusing] = await Promise.all([
      startVarnish({ vcl: renderVcl({ backends }), name: 'edge-1' }),
      startVarnish({ vcl: renderVcl({ backends }), name: 'edge-2' }),
      startVarnish({ vcl: renderVcl({ backends, purgers: ['192.0.2.1'] }), name: 'edge-refusing' }),
    ]);
    for (const edge of [one, two]) await eventually(async () => /fwd=miss|hit/.test(await edgeStatus(edge.port, '/warm/x')));
  });
  after(async () => {
    await purger.close();
    await Promise.all([one?.stop(), two?.stop(), refusing?.stop()]);
    backend?.closeAllConnections();
    await new Promise((resolve) => backend?.close(resolve));
  });

  const warm = async (edge: TestVarnish, ...paths: string[]) => {
    for (const path of paths) {
      await edgeStatus(edge.port, path);
      assert.match(await edgeStatus(edge.port, path), /; hit/, `${edge.name} ${path}`);
    }
  };

  it('purges every edge, and only what carries the keys', async () => {
    for (const edge of [one, two]) await warm(edge, '/k1/a', '/k1/b', '/k2/a', '/k3/a');
    const report = await purger.purge(edges(), ['k1', 'k2']);
    assert.deepEqual(report, { purged: ['edge-1', 'edge-2'], failed: [] });
    for (const edge of [one, two]) {
      for (const path of ['/k1/a', '/k1/b', '/k2/a']) assert.match(await edgeStatus(edge.port, path), /fwd=miss/, `${edge.name} ${path}`);
      assert.match(await edgeStatus(edge.port, '/k3/a'), /; hit/);
    }
  });

  it('splits a long key list over several PURGE requests; keys at the end are purged too', async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => `p-${String(i).padStart(20, '0')}`);
    keys.push('last');
    await warm(one, '/last/a', '/k3/b');
    const report = await purger.purge([{ name: one.name, url: one.url }], keys);
    assert.deepEqual(report.purged, ['edge-1']);
    assert.match(await edgeStatus(one.port, '/last/a'), /fwd=miss/);
    assert.match(await edgeStatus(one.port, '/k3/b'), /; hit/);
  });

  it('reports an edge that refuses, and one that is down, by name and reason', async () => {
    const closed = await freePort();
    const report = await purger.purge(
      [{ name: one.name, url: one.url }, { name: refusing.name, url: refusing.url }, { name: 'edge-down', url: `http://127.0.0.1:${closed}` }],
      ['k3'],
    );
    assert.deepEqual(report.purged, ['edge-1']);
    assert.deepEqual(report.failed, [
      { name: 'edge-refusing', reason: 'answered 403' },
      { name: 'edge-down', reason: 'connection refused (ECONNREFUSED)' },
    ]);
  });

  // Its own timeout: a purger that waited on the hung edge would never finish, and fail here.
  it('an edge whose cache process is stopped fails after its tries, named in the report; the others are purged', { timeout: 60_000 }, async () => {
    await warm(one, '/k4/a');
    const cache = two.cachePid();
    process.kill(cache, 'SIGSTOP');
    try {
      await stoppedState(cache);
      const report = await purger.purge(edges(), ['k4']);
      // The purger's own timeout ended the wait: it does not wait on the hung edge.
      assert.deepEqual(report, { purged: ['edge-1'], failed: [{ name: 'edge-2', reason: 'no answer within 300 ms' }] });
      assert.match(await edgeStatus(one.port, '/k4/a'), /fwd=miss/);
    } finally {
      process.kill(cache, 'SIGCONT');
    }
  });

  it('flush empties an edge; a flush that cannot reach the edge throws with the reason', async () => {
    await warm(two, '/k5/a', '/k6/a');
    await purger.flush({ name: two.name, url: two.url });
    assert.match(await edgeStatus(two.port, '/k5/a'), /fwd=miss/);
    assert.match(await edgeStatus(two.port, '/k6/a'), /fwd=miss/);
    await assert.rejects(purger.flush({ name: refusing.name, url: refusing.url }), /edge edge-refusing could not be flushed: answered 403/);
  });
});

/** kill() returns before every thread of the target has stopped: wait until the kernel reports it stopped. */
async function stoppedState(pid: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`process ${pid} did not stop`);
}
