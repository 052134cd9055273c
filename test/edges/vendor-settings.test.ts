import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PictorError } from '../../src/errors.ts';
import { parseCloudflareSettings } from '../../src/edges/vendors/cloudflare.ts';
import { parseCloudFrontSettings } from '../../src/edges/vendors/cloudfront.ts';
import { parseFastlySettings } from '../../src/edges/vendors/fastly.ts';

/** Asserts `parse` refuses with a 400 pointing at `field`, and returns the message. */
function refusal(parse: () => unknown, field: string): string {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof PictorError, String(error));
    assert.equal(error.code, 'BAD_REQUEST');
    assert.equal(error.status, 400);
    assert.equal(error.pointer, `/data/attributes/${field}`);
    return error.message;
  }
  assert.fail(`accepted, expected a refusal of ${field}`);
}

const cloudflare = { zone_id: '023e105f4ecef8ad9ca31a8372d0c353', api_token: 'cf-token' };
const fastly = { service_id: 'SU1Z0isxPaozGVKXdv0eY', api_token: 'fastly-token' };
const cloudfront = {
  distribution_id: 'E2QWRUHAPOMQZL',
  access_key_id: 'AKIAIOSFODNN7EXAMPLE',
  secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

describe('vendor edge settings', () => {
  it('reads the contract field names into each driver’s settings', () => {
    assert.deepEqual(parseCloudflareSettings({ ...cloudflare, name: 'cf', kind: 'cloudflare' }), {
      zoneId: cloudflare.zone_id,
      apiToken: 'cf-token',
      endpoint: undefined,
    });
    assert.deepEqual(parseFastlySettings({ ...fastly, soft_purge: true, endpoint: 'https://fastly-proxy.example.com/api/' }), {
      serviceId: fastly.service_id,
      apiToken: 'fastly-token',
      softPurge: true,
      endpoint: 'https://fastly-proxy.example.com/api',
    });
    assert.deepEqual(parseCloudFrontSettings({ ...cloudfront, endpoint: 'http://127.0.0.1:9000' }), {
      distributionId: cloudfront.distribution_id,
      accessKeyId: cloudfront.access_key_id,
      secretAccessKey: cloudfront.secret_access_key,
      endpoint: 'http://127.0.0.1:9000',
    });
  });

  it('refuses a missing or malformed id, pointing at the field', () => {
    assert.match(refusal(() => parseCloudflareSettings({ api_token: 'x' }), 'zone_id'), /zone_id is required: the zone's ID/);
    assert.match(refusal(() => parseCloudflareSettings({ ...cloudflare, zone_id: 'example.com' }), 'zone_id'), /32 hexadecimal digits/);
    assert.match(refusal(() => parseFastlySettings({ ...fastly, service_id: 'a/b' }), 'service_id'), /service_id must be/);
    assert.match(refusal(() => parseCloudFrontSettings({ ...cloudfront, distribution_id: undefined }), 'distribution_id'), /required/);
    assert.match(refusal(() => parseCloudFrontSettings({ ...cloudfront, access_key_id: 'akia-lower' }), 'access_key_id'), /AWS access key ID/);
  });

  it('refuses a missing secret, or one that could break a header, without repeating it', () => {
    assert.match(refusal(() => parseCloudflareSettings({ zone_id: cloudflare.zone_id }), 'api_token'), /Zone\.Cache Purge/);
    const injected = 'token\r\nX-Injected: 1';
    const message = refusal(() => parseFastlySettings({ ...fastly, api_token: injected }), 'api_token');
    assert.ok(!message.includes('X-Injected'), message);
    assert.match(refusal(() => parseCloudFrontSettings({ ...cloudfront, secret_access_key: 42 }), 'secret_access_key'), /must be a string/);
  });

  it('refuses a soft_purge that is not a boolean', () => {
    assert.match(refusal(() => parseFastlySettings({ ...fastly, soft_purge: 'yes' }), 'soft_purge'), /true or false/);
  });

  it('takes an endpoint only as https, or http on loopback, without credentials or a query', () => {
    assert.match(refusal(() => parseCloudflareSettings({ ...cloudflare, endpoint: 'http://api.example.com' }), 'endpoint'), /https:/);
    assert.match(refusal(() => parseCloudflareSettings({ ...cloudflare, endpoint: 'not a url' }), 'endpoint'), /absolute URL/);
    assert.match(refusal(() => parseFastlySettings({ ...fastly, endpoint: 'https://u:p@api.example.com' }), 'endpoint'), /credentials/);
    assert.match(refusal(() => parseCloudFrontSettings({ ...cloudfront, endpoint: 'https://api.example.com/?a=1' }), 'endpoint'), /query/);
    assert.equal(parseCloudflareSettings({ ...cloudflare, endpoint: 'http://[::1]:8080/client/v4' }).endpoint, 'http://[::1]:8080/client/v4');
  });

  it('refuses attributes that are not an object', () => {
    assert.throws(() => parseCloudflareSettings(null), (error: unknown) => error instanceof PictorError && error.pointer === '/data/attributes');
  });
});
