/**
 * Hostile requests for the soak: each must be answered with a 4xx (or a 2xx/3xx where the input is merely
 * odd), never a 5xx, a crash or a hang. Bodies are sent with the content type that makes the server parse them.
 */
export interface HostileRequest {
  /** `render` or `admin`: the listener it goes to. */
  listener: 'render' | 'admin';
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** How the request is wrong, for the report. */
  what: string;
}

const JSONAPI = 'application/vnd.api+json';

/** The hostile requests, for a key with purge and sources permissions and the id of a Source it may edit. */
export function hostileRequests(key: string, sourceId: string, renderHost: string): HostileRequest[] {
  const auth = { authorization: `Bearer ${key}` };
  const json = { ...auth, 'content-type': JSONAPI };
  const render = (path: string, what: string): HostileRequest => ({ listener: 'render', method: 'GET', path, what });
  const admin = (method: string, path: string, what: string, headers: Record<string, string>, body?: string): HostileRequest => ({ listener: 'admin', method, path, headers, body, what });
  const purge = (attributes: string): string => `{"data":{"type":"purges","attributes":${attributes}}}`;
  return [
    render('/photo.jpg?w=abc', 'non-numeric width'),
    render('/photo.jpg?w=-5&h=0', 'negative and zero sizes'),
    render('/photo.jpg?fm=exe&q=500', 'unknown format, quality out of range'),
    render('/photo.jpg?rot=banana&blur=9999&sat=-1000', 'nonsense adjustments'),
    render('/photo.jpg?w=100000&h=100000', 'huge width and height'),
    render('/photo.jpg?w=8192&h=8192&pad=100000', 'huge padding'),
    render('/photo.jpg?w=8000&h=8000&fit=fill&pad=4000&dpr=8', 'huge canvas through dpr'),
    render('/photo.jpg?rect=0,0,99999999,99999999', 'huge rect'),
    render('/photo.jpg?mark64=!!!notbase64&blend=/../../etc/passwd', 'broken sub-image references'),
    render('/photo.jpg?mark=/photo.jpg', 'an image marking itself'),
    render('/../../etc/passwd', 'traversal'),
    render('/%2e%2e/%2e%2e/etc/passwd', 'encoded traversal'),
    render('/tiny/..%2f..%2f..%2fetc%2fpasswd', 'encoded slash traversal'),
    render('/photo.jpg%00.png?w=10', 'NUL in the path'),
    render(`/${'a'.repeat(4000)}.jpg?w=10`, 'very long path'),
    render(`/photo.jpg?${'w=1&'.repeat(500)}`, 'many repeated parameters'),
    render('/photo.jpg?w=10&s=0123456789abcdef0123456789abcdef', 'signature on an unsigned Source'),
    { listener: 'render', method: 'POST', path: '/photo.jpg', headers: { 'content-type': 'application/json' }, body: '{"a":1}', what: 'POST with a body to the render listener' },
    admin('POST', '/api/v1/purge', 'malformed JSON', json, '{"data": {"type": "purges", "attributes": {"url": '),
    admin('POST', '/api/v1/purge', 'JSON that is not an object', json, '"just a string"'),
    admin('POST', '/api/v1/purge', '__proto__ at the top', json, `{"__proto__":{"polluted":true},"data":{"type":"purges","attributes":{"url":"http://${renderHost}/photo.jpg"}}}`),
    admin('POST', '/api/v1/purge', '__proto__ in attributes', json, purge(`{"url":"http://${renderHost}/photo.jpg","__proto__":{"match":"prefix"}}`)),
    admin('POST', '/api/v1/purge', 'constructor.prototype in attributes', json, purge('{"url":{"constructor":{"prototype":{"polluted":true}}}}')),
    admin('POST', '/api/v1/purge', 'relative URL', json, purge('{"url":"/photo.jpg"}')),
    admin('POST', '/api/v1/purge', 'a host that is no Source', json, purge('{"url":"http://evil.example/photo.jpg"}')),
    admin('POST', '/api/v1/purge', 'deeply nested JSON', json, `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`),
    admin('POST', '/api/v1/purge', 'wrong content type', { ...auth, 'content-type': 'text/plain' }, 'url=http://x/'),
    admin('POST', '/api/v1/purge', 'no key', { 'content-type': JSONAPI }, purge(`{"url":"http://${renderHost}/photo.jpg"}`)),
    admin('POST', '/api/v1/purge', 'wrong key', { authorization: `Bearer ak_${'0'.repeat(64)}`, 'content-type': JSONAPI }, purge(`{"url":"http://${renderHost}/photo.jpg"}`)),
    admin('POST', '/api/v1/purge', 'malformed authorization header', { authorization: 'Basic Zm9vOmJhcg==', 'content-type': JSONAPI }, '{}'),
    admin('PATCH', `/api/v1/sources/${sourceId}`, 'malformed JSON on a Source', json, '{"data": {"type": "sources", '),
    admin('PATCH', `/api/v1/sources/${sourceId}`, '__proto__ in a Source', json, `{"data":{"type":"sources","id":"${sourceId}","attributes":{"__proto__":{"enabled":false},"name":"x"}}}`),
    admin('PATCH', `/api/v1/sources/${sourceId}`, 'wrong types in a Source', json, `{"data":{"type":"sources","id":"${sourceId}","attributes":{"name":42,"deployment":{"default_params":[1,2]}}}}`),
    admin('PATCH', '/api/v1/sources/000000000000000000000000', 'unknown Source', json, '{"data":{"type":"sources","attributes":{"name":"x"}}}'),
    admin('POST', '/api/v1/sources/not-an-id/purge', 'bad Source id in a purge', json),
    admin('GET', '/api/v1/purges/not-a-purge-id', 'unknown purge id', auth),
    admin('POST', '/api/v1/no-such-route', 'unknown route with a body', json, '{"data":{}}'),
    admin('PUT', '/no/such/thing', 'unknown route, PUT with a body', { 'content-type': 'application/json' }, '{"x":1}'),
    admin('DELETE', `/api/v1/sources/${sourceId}`, 'DELETE a Source', auth),
  ];
}
