import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { renderVcl } from '../../src/edges/vcl.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { cli, runCli } from '../helpers/cli.ts';
import { eventually, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { freePort } from '../helpers/ports.ts';
import { edgeStatus, startVarnish, type TestVarnish } from '../helpers/varnish.ts';
import { skipWithout } from '../helpers/tools.ts';

const cliError = async (args: string[]): Promise<string> => {
  const { code, stderr } = await runCli(args);
  if (code === 0) throw new Error(`pictor ${args.join(' ')} succeeded`);
  return stderr;
};

interface ApiResponse {
  status: number;
  body: any;
}

describe('Edges API and CLI', { skip: skipWithout('varnish') }, () => {
  let t: TestPictor;
  let edge: TestVarnish;
  let api: (method: string, path: string, body?: unknown, key?: string) => Promise<ApiResponse>;
  before(async () => {
    // Edges taken out here come back only by readmit (edge-healer.test.ts has them heal by themselves).
    t = await startPictor({ assets: { 'a.jpg': await solidImage(20, 20, [255, 0, 0]) }, options: { edgeHealIntervalSeconds: '0' } });
    edge = await startVarnish({ vcl: renderVcl({ backends: [`127.0.0.1:${t.renderPort}`] }), name: 'edge-api' });
    await eventually(async () => /fwd=miss|hit/.test(await edgeStatus(edge.port, '/a.jpg?w=1')));
    api = async (method, path, body, key = t.apiKey) => {
      const response = await fetch(`${t.adminUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/vnd.api+json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    };
  });
  after(async () => {
    await edge?.stop();
    await t?.stop();
  });

  const edgeDocument = (attributes: unknown) => ({ data: { type: 'edges', attributes } });

  it('adds, lists and removes edges', async () => {
    const created = await api('POST', '/api/v1/edges', edgeDocument({ name: 'edge-1', url: edge.url }));
    assert.equal(created.status, 201);
    assert.equal(created.body.data.id, 'edge-1');
    assert.equal(created.body.data.attributes.url, edge.url);
    assert.equal(created.body.data.attributes.in_rotation, true);

    const listed = await api('GET', '/api/v1/edges');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.data.map((resource: any) => resource.id), ['edge-1']);

    assert.equal((await api('POST', '/api/v1/edges', edgeDocument({ name: 'edge-1', url: edge.url }))).status, 409);
    assert.equal((await api('DELETE', '/api/v1/edges/edge-1')).status, 204);
    assert.equal((await api('DELETE', '/api/v1/edges/edge-1')).status, 404);
    assert.deepEqual((await api('GET', '/api/v1/edges')).body.data, []);
  });

  it('refuses bad documents, names and URLs with a 400 that points at the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ data: { type: 'sources', attributes: {} } }, '/data/type', /"edges"/],
      ['nope', '/data', /JSON:API document/],
      [edgeDocument({ name: 'Edge 1', url: 'http://127.0.0.1:1' }), '/data/attributes/name', /lowercase/],
      [edgeDocument({ name: 'edge-x', url: 'http://127.0.0.1' }), '/data/attributes/url', /http:\/\/HOST:PORT/],
      [edgeDocument({ name: 'edge-x', url: 'ftp://127.0.0.1:21' }), '/data/attributes/url', /http:\/\/HOST:PORT/],
      [edgeDocument({ name: 'edge-x', url: 'http://127.0.0.1:99999' }), '/data/attributes/url', /http:\/\/HOST:PORT/],
      [edgeDocument({ name: 'edge-x' }), '/data/attributes/url', /http:\/\/HOST:PORT/],
    ];
    for (const [body, pointer, detail] of cases) {
      const response = await api('POST', '/api/v1/edges', body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.errors[0].source.pointer, pointer);
      assert.match(response.body.errors[0].detail, detail);
    }
  });

  it('needs the admin permission', async () => {
    const created = await cli(['keys', 'create', '--name', 'purge only', '--permissions', 'purge', '--data', t.dataDir]);
    const purgeKey = /ak_[0-9a-f]{64}/.exec(created.stdout)![0];
    assert.equal((await api('GET', '/api/v1/edges', undefined, purgeKey)).status, 403);
    assert.equal((await api('POST', '/api/v1/edges', edgeDocument({ name: 'edge-x', url: edge.url }), purgeKey)).status, 403);
    assert.equal((await api('GET', '/api/v1/edges', undefined, 'ak_wrong')).status, 401);
  });

  it('readmit flushes the edge, then puts it back in rotation; a failed flush leaves it out', async () => {
    await api('POST', '/api/v1/edges', edgeDocument({ name: 'edge-r', url: edge.url }));
    await api('POST', '/api/v1/edges', edgeDocument({ name: 'edge-down', url: `http://127.0.0.1:${await freePort()}` }));
    // Taken out as the purge pipeline does when an edge misses a purge.
    const stores = await openStores({ dataDir: t.dataDir });
    try {
      await stores.edges.setInRotation('edge-r', false, 'no answer within 500 ms');
      await stores.edges.setInRotation('edge-down', false, 'no answer within 500 ms');
    } finally {
      await stores.close();
    }
    await edgeStatus(edge.port, '/a.jpg?w=5');
    assert.match(await edgeStatus(edge.port, '/a.jpg?w=5'), /; hit/);

    const readmitted = await api('POST', '/api/v1/edges/edge-r/readmit');
    assert.equal(readmitted.status, 200);
    assert.equal(readmitted.body.data.attributes.in_rotation, true);
    assert.equal(readmitted.body.data.attributes.reason, null);
    assert.match(await edgeStatus(edge.port, '/a.jpg?w=5'), /fwd=miss/, 'flushed before it came back');

    const failed = await api('POST', '/api/v1/edges/edge-down/readmit');
    assert.equal(failed.status, 502);
    assert.match(failed.body.errors[0].detail, /edge-down could not be flushed: connection refused.*stays out of rotation/);
    const down = (await api('GET', '/api/v1/edges')).body.data.find((resource: any) => resource.id === 'edge-down');
    assert.equal(down.attributes.in_rotation, false);
    assert.equal(down.attributes.reason, 'no answer within 500 ms');
    assert.equal((await api('POST', '/api/v1/edges/nope/readmit')).status, 404);
    await api('DELETE', '/api/v1/edges/edge-r');
    await api('DELETE', '/api/v1/edges/edge-down');
  });

  it('pictor edges: add, list, readmit and remove on the data directory of a running server', async () => {
    const data = ['--data', t.dataDir];
    assert.match((await cli(['edges', 'add', '--name', 'edge-c', '--url', edge.url, ...data])).stdout, /Added edge edge-c/);
    const listed = JSON.parse((await cli(['edges', 'list', '--json', ...data])).stdout);
    assert.deepEqual(listed, [{ name: 'edge-c', kind: 'varnish', url: edge.url, in_rotation: true }]);
    assert.deepEqual((await api('GET', '/api/v1/edges')).body.data.map((resource: any) => resource.id), ['edge-c'], 'the server sees it');
    const table = (await cli(['edges', 'list', ...data])).stdout;
    assert.match(table, /^NAME\tKIND\tWHERE\tSTATUS\nedge-c\tvarnish\thttp:\/\/127\.0\.0\.1:\d+\tin rotation\n$/);
    assert.match(await cliError(['edges', 'add', '--name', 'edge-c', '--url', edge.url, ...data]), /already exists/);
    assert.match(await cliError(['edges', 'add', '--name', 'edge-d', '--url', 'localhost', ...data]), /http:\/\/HOST:PORT.*\(--url\)/);
    assert.match((await cli(['edges', 'readmit', 'edge-c', ...data])).stdout, /flushed and is back in rotation/);
    assert.match((await cli(['edges', 'remove', 'edge-c', ...data])).stdout, /Removed edge edge-c/);
    assert.match(await cliError(['edges', 'remove', 'edge-c', ...data]), /no edge named "edge-c"/);
  });

  it('pictor vcl prints a VCL for the given backends, and refuses a bad one', async () => {
    const { stdout } = await cli(['vcl', '--backend', `127.0.0.1:${t.renderPort}`, '--purger', '10.0.0.0/8', '--name', 'edge-x']);
    assert.match(stdout, /^vcl 4\.1;/);
    assert.match(stdout, /"10\.0\.0\.0"\/8;/);
    assert.match(await cliError(['vcl', '--backend', 'nope']), /Backend "nope" is not HOST:PORT/);
  });
});

describe('pictor edges --database (PostgreSQL)', () => {
  let server: TestPostgres;
  before(async () => {
    server = await startPostgres({ durable: false });
  });
  after(() => server?.stop());

  it('keeps the registry in PostgreSQL', async () => {
    const database = ['--database', await server.createDatabase('edges_cli')];
    await cli(['edges', 'add', '--name', 'edge-pg', '--url', 'http://127.0.0.1:6081', ...database]);
    const listed = JSON.parse((await cli(['edges', 'list', '--json', ...database])).stdout);
    assert.deepEqual(listed, [{ name: 'edge-pg', kind: 'varnish', url: 'http://127.0.0.1:6081', in_rotation: true }]);
    await cli(['edges', 'remove', 'edge-pg', ...database]);
    assert.deepEqual(JSON.parse((await cli(['edges', 'list', '--json', ...database])).stdout), []);
  });
});
