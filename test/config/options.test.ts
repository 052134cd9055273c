import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, resolveOptions } from '../../src/config/options.ts';

describe('options: flag ?? environment ?? default, validated at start', () => {
  it('has the documented defaults', () => {
    const options = resolveOptions({}, {});
    assert.equal(options.port, 3000);
    assert.equal(options.adminPort, 3001);
    assert.equal(options.host, '0.0.0.0');
    assert.equal(options.adminHost, '127.0.0.1');
    assert.equal(options.dataDir, path.resolve('.pictor'));
    assert.equal(options.assetsDir, path.resolve('assets'));
    assert.equal(options.maxInputPixels, 100_000_000);
    assert.equal(options.purgeRateLimit, 10);
    assert.equal(options.renderConcurrency, availableParallelism() + 1);
    assert.equal(options.renderThreads, 1);
  });

  it('reads the environment, and flags win over it', () => {
    const env = { PICTOR_PORT: '8080', PICTOR_ADMIN_PORT: '0', PICTOR_DATA_DIR: '/tmp/x', PICTOR_PUBLIC_URL: 'https://img.example.com' };
    const options = resolveOptions({ port: '9090' }, env);
    assert.equal(options.port, 9090);
    assert.equal(options.adminPort, 0);
    assert.equal(options.dataDir, '/tmp/x');
    assert.equal(options.publicUrl?.host, 'img.example.com');
    assert.equal(resolveOptions({}, { PICTOR_DISK_CACHE_SIZE: '512mb' }).diskCacheBytes, 512 * 1024 * 1024);
  });

  it('names the setting when a value is invalid', () => {
    assert.throws(() => resolveOptions({ port: 'abc' }, {}), (error: Error) => error instanceof ConfigError && /--port \(PICTOR_PORT\)/.test(error.message));
    assert.throws(() => resolveOptions({}, { PICTOR_ADMIN_PORT: '70000' }), /--admin-port \(PICTOR_ADMIN_PORT\)/);
    assert.throws(() => resolveOptions({}, { PICTOR_PUBLIC_URL: 'not a url' }), /--public-url/);
    assert.throws(() => resolveOptions({}, { PICTOR_DISK_CACHE_SIZE: 'lots' }), /--disk-cache-size/);
    assert.throws(() => resolveOptions({}, { PICTOR_LOG_LEVEL: 'loud' }), /--log-level/);
    assert.throws(() => resolveOptions({ renderThreads: '0' }, {}), /--render-threads \(PICTOR_RENDER_THREADS\) must be a whole number from 1 to 64/);
  });
});
