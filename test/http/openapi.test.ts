import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { describe, it } from 'node:test';
import { formatOpenApi, OPENAPI_FILE } from '../../scripts/openapi.ts';
import { createAdminServer, type AdminServices } from '../../src/http/admin-server.ts';
import { OPENAPI_PATH } from '../../src/http/openapi.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startPictor } from '../helpers/pictor.ts';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI document', () => {
  it('is served without a key, as OpenAPI 3, and is the committed docs/openapi.json (else run npm run openapi)', async () => {
    const t = await startPictor();
    try {
      const response = await fetch(`${t.adminUrl}${OPENAPI_PATH}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      const served = await response.json();
      assert.equal(formatOpenApi(served), await fs.readFile(OPENAPI_FILE, 'utf8'), 'docs/openapi.json is stale: run npm run openapi');

      const document = served as { openapi: string; info: { title: string }; paths: Record<string, Record<string, any>>; components: any };
      assert.match(document.openapi, /^3\.\d+\.\d+$/);
      assert.equal(typeof document.info.title, 'string');
      assert.ok(Object.keys(document.paths).length > 0);
      for (const [path, operations] of Object.entries(document.paths)) {
        assert.match(path, /^\/(api\/v1\/|healthz$)/, `${path}: only the API and /healthz are documented`);
        for (const [method, operation] of Object.entries(operations)) {
          if (!METHODS.includes(method)) continue;
          const name = `${method.toUpperCase()} ${path}`;
          assert.ok(Object.keys(operation.responses ?? {}).length > 0, `${name} has responses`);
          assert.ok(operation.tags?.length > 0 && typeof operation.summary === 'string', `${name} has tags and a summary`);
          if (path.startsWith('/api/')) {
            assert.deepEqual(operation.security, [{ apiKey: [] }], `${name} names its key`);
            assert.ok(operation.responses['4XX'], `${name} documents its error document`);
          }
          for (const parameter of operation.parameters ?? []) {
            if (parameter.in === 'path') assert.ok(path.includes(`{${parameter.name}}`), `${name}: path parameter ${parameter.name}`);
          }
        }
      }
      assert.equal(document.components.securitySchemes.apiKey.scheme, 'bearer');
    } finally {
      await t.stop();
    }
  });

  it('documents every /api/v1 route the admin listener answers (all but the 405 answers)', async () => {
    // Only the routes are looked at: the services are never reached, a request without a key stops at onRequest.
    const inert = {} as never;
    const services: AdminServices = {
      keys: { verify: async () => undefined } as never,
      purges: { endWaits: () => {} } as never,
      purgeLimiter: inert,
      sources: inert,
      edges: inert,
      clusterStatus: inert,
      takedowns: inert,
      webhooks: inert,
      assets: { service: inert, refreshLimiter: inert, maxInputBytes: 1024 },
      metrics: { countRequest: () => {} } as never,
      health: inert,
      logger: createLogger('silent'),
    };
    const app = createAdminServer(services);
    const routes: { method: string; url: string }[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (route.url.startsWith('/api/v1/') && method !== 'HEAD') routes.push({ method, url: route.url });
    });
    await app.ready();
    try {
      const document = app.swagger() as { paths: Record<string, Record<string, unknown>> };
      let documented = 0;
      for (const { method, url } of routes) {
        const sample = url.replace(/:\w+/g, 'x').replace('*', 'a.jpg');
        const answer = await app.inject({ method: method as 'GET', url: sample });
        if (answer.statusCode === 405 || url === OPENAPI_PATH) continue;
        const path = url.replace(/:(\w+)/g, '{$1}').replace('*', '{*}');
        assert.ok(document.paths[path]?.[method.toLowerCase()], `${method} ${url} (answered ${answer.statusCode}) is in the document`);
        documented++;
      }
      assert.ok(documented >= 20, `${documented} routes documented`);
    } finally {
      await app.close();
    }
  });

  it('a schema failure is a JSON:API 400 pointing at the member, in words a person reads', async () => {
    const t = await startPictor();
    try {
      const post = async (path: string, body: unknown) => {
        const response = await fetch(`${t.adminUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/vnd.api+json' },
          body: JSON.stringify(body),
        });
        return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as any };
      };
      const cases: [string, unknown, string, string][] = [
        ['/api/v1/purge', { data: { type: 'purges', attributes: { url: 'http://x/a.jpg', match: 'all' } } }, '/data/attributes/match', '"match" must be "exact" or "prefix", got "all".'],
        ['/api/v1/purge', { data: { type: 'purges', attributes: { url: 5 } } }, '/data/attributes/url', '"url" must be a string, got 5.'],
        ['/api/v1/purge', { data: { type: 'purges' } }, '/data/attributes', '"data.attributes" is required.'],
        ['/api/v1/edges', { data: { type: 'edges', attributes: { name: ['a'], url: 'http://127.0.0.1:1' } } }, '/data/attributes/name', '"name" must be a string, got an array.'],
        ['/api/v1/takedowns', { data: { type: 'takedowns', attributes: { url: 'http://x/a.jpg', reason: 'r', why: 1 } } }, '/data/attributes/why', 'Unknown attribute "why"; expected "url" and "reason".'],
      ];
      for (const [path, body, pointer, detail] of cases) {
        const answer = await post(path, body);
        assert.equal(answer.status, 400, detail);
        assert.equal(answer.type, 'application/vnd.api+json');
        assert.equal(answer.body.errors[0].status, '400');
        assert.equal(answer.body.errors[0].source.pointer, pointer);
        assert.equal(answer.body.errors[0].detail, detail);
      }
      const repeated = await fetch(`${t.adminUrl}/api/v1/takedowns?page[size]=1&page[size]=2`, { headers: { authorization: `Bearer ${t.apiKey}` } });
      assert.equal(repeated.status, 400);
      assert.equal(((await repeated.json()) as any).errors[0].detail, 'Give the query parameter "page[size]" once.');
    } finally {
      await t.stop();
    }
  });
});
