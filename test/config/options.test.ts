import assert from 'node:assert/strict';
import fs from 'node:fs';
import os, { availableParallelism } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, resolveClientSettings, resolveOptions, resolveSourceSettings, resolveStoreSettings } from '../../src/config/options.ts';
import { SETTINGS, settingName } from '../../src/config/settings.ts';

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

  it('folder roots: the assets folder always, then each --folder-root (or PICTOR_FOLDER_ROOTS, separated like PATH), as real paths', () => {
    const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-roots-')));
    try {
      const [assets, a, b] = ['assets', 'a', 'b'].map((name) => path.join(base, name));
      for (const dir of [assets, a, b]) fs.mkdirSync(dir!);
      fs.symlinkSync(a!, path.join(base, 'alias'));
      fs.writeFileSync(path.join(base, 'file'), '');
      assert.deepEqual(resolveOptions({ assetsDir: assets }, {}).folderRoots, [assets]);
      assert.deepEqual(resolveOptions({ assetsDir: assets, folderRoots: [path.join(base, 'alias'), b!] }, {}).folderRoots, [assets, a, b]);
      assert.deepEqual(resolveOptions({ assetsDir: assets }, { PICTOR_FOLDER_ROOTS: [a, '', b].join(path.delimiter) }).folderRoots, [assets, a, b]);
      assert.deepEqual(resolveOptions({ assetsDir: assets, folderRoots: [b!] }, { PICTOR_FOLDER_ROOTS: a }).folderRoots, [assets, b], 'the flag wins');
      assert.deepEqual(resolveSourceSettings({}, { PICTOR_ASSETS_DIR: assets, PICTOR_FOLDER_ROOTS: a }).folderRoots, [assets, a], 'the sources commands read the same settings');
      assert.throws(() => resolveOptions({ folderRoots: [path.join(base, 'nope')] }, {}), /--folder-root \(PICTOR_FOLDER_ROOTS\) must name existing directories, and ".*nope" does not exist/);
      assert.throws(() => resolveOptions({}, { PICTOR_FOLDER_ROOTS: path.join(base, 'file') }), /"[^"]*file" is not a directory/);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('PICTOR_SECRET_KEY: comma-separated 32-byte keys in base64 or hex; a bad one is named by position, never echoed', () => {
    const [hex, base64] = ['ab'.repeat(32), Buffer.alloc(32, 7).toString('base64')];
    assert.equal(resolveOptions({}, {}).secretKeys, undefined);
    assert.deepEqual(resolveOptions({}, { PICTOR_SECRET_KEY: `${base64}, ${hex}` }).secretKeys, [Buffer.alloc(32, 7), Buffer.from(hex, 'hex')]);
    assert.throws(
      () => resolveOptions({}, { PICTOR_SECRET_KEY: `${hex},tooshort-secret` }),
      (error: Error) => /^Invalid configuration: PICTOR_SECRET_KEY must be one or more comma-separated 32-byte keys .* entry 2 is not one$/.test(error.message) && !error.message.includes('tooshort'),
    );
  });

  it('video settings: --ffmpeg, --ffprobe, --video-concurrency, --video-max-duration', () => {
    const defaults = resolveOptions({}, {});
    assert.deepEqual([defaults.ffmpegPath, defaults.ffprobePath, defaults.videoConcurrency, defaults.videoMaxDurationSeconds], [undefined, undefined, 1, 600]);
    const options = resolveOptions({ ffmpegPath: '/opt/ffmpeg' }, { PICTOR_FFMPEG: '/usr/bin/ffmpeg', PICTOR_FFPROBE: '/usr/bin/ffprobe', PICTOR_VIDEO_CONCURRENCY: '2', PICTOR_VIDEO_MAX_DURATION: '30m' });
    assert.deepEqual([options.ffmpegPath, options.ffprobePath, options.videoConcurrency, options.videoMaxDurationSeconds], ['/opt/ffmpeg', '/usr/bin/ffprobe', 2, 1800]);
    assert.throws(() => resolveOptions({ videoConcurrency: '0' }, {}), /--video-concurrency \(PICTOR_VIDEO_CONCURRENCY\) must be a whole number from 1 to 64/);
    assert.throws(() => resolveOptions({}, { PICTOR_VIDEO_MAX_DURATION: 'long' }), /--video-max-duration \(PICTOR_VIDEO_MAX_DURATION\)/);
  });

  it('cluster settings: --database (a PostgreSQL URL, never echoed), --node-id, --node-lease', () => {
    const defaults = resolveOptions({}, {});
    assert.deepEqual([defaults.databaseUrl, defaults.nodeId, defaults.nodeLeaseSeconds], [undefined, undefined, 10]);
    const env = { PICTOR_DATABASE_URL: 'postgres://pictor@db.internal:5432/pictor', PICTOR_NODE_ID: 'node-1', PICTOR_NODE_LEASE: '30' };
    const options = resolveOptions({ nodeId: 'edge-host.example:3000' }, env);
    assert.deepEqual([options.databaseUrl, options.nodeId, options.nodeLeaseSeconds], ['postgres://pictor@db.internal:5432/pictor', 'edge-host.example:3000', 30]);
    assert.equal(resolveOptions({ databaseUrl: 'postgresql://u@h/db' }, env).databaseUrl, 'postgresql://u@h/db', 'the flag wins');
    for (const bad of ['mysql://u:hunter2@h/db', 'postgres://u:hunter2@h', 'not a url hunter2']) {
      assert.throws(
        () => resolveOptions({ databaseUrl: bad }, {}),
        (error: Error) => error instanceof ConfigError && /^Invalid configuration: --database \(PICTOR_DATABASE_URL\) must be a PostgreSQL URL/.test(error.message) && !error.message.includes('hunter2'),
        bad,
      );
    }
    assert.throws(() => resolveOptions({ nodeId: 'has space' }, {}), /--node-id \(PICTOR_NODE_ID\)/);
    assert.throws(() => resolveOptions({ nodeLeaseSeconds: '0' }, {}), /--node-lease \(PICTOR_NODE_LEASE\) must be a whole number from 1 to 300/);
    assert.throws(() => resolveOptions({ nodeLeaseSeconds: '301' }, {}), /--node-lease/);
  });

  it('the CLI resolves the stores as serve does: data directory, database and secret keys', () => {
    const env = { PICTOR_DATA_DIR: '/tmp/pictor-x', PICTOR_DATABASE_URL: 'postgres://u@h:5433/db' };
    const store = resolveStoreSettings({}, env);
    const serve = resolveOptions({}, env);
    assert.deepEqual(store, { dataDir: serve.dataDir, databaseUrl: serve.databaseUrl, secretKeys: serve.secretKeys });
    assert.equal(resolveStoreSettings({ dataDir: '/tmp/y', databaseUrl: 'postgres://v@w/z' }, env).databaseUrl, 'postgres://v@w/z');
    assert.throws(() => resolveStoreSettings({ databaseUrl: 'http://x/y' }, {}), /--database/);
  });
});

describe('options: one rule for every kind of setting', () => {
  // [setting, flag, environment, value from the flag, from the environment, by default]
  const samples: [keyof typeof SETTINGS, string, string, unknown, unknown, unknown][] = [
    ['port', '8080', '9090', 8080, 9090, 3000],
    ['purgeRateLimit', '2.5', '0.5', 2.5, 0.5, 10],
    ['diskCacheBytes', '1gb', '512k', 1024 ** 3, 512 * 1024, 2 * 1024 ** 3],
    ['purgeRetentionSeconds', '12h', '90m', 12 * 3600, 90 * 60, 7 * 24 * 3600],
    ['serveWhenIsolated', 'true', 'yes', true, true, false],
    ['logLevel', 'debug', 'warn', 'debug', 'warn', 'info'],
    ['ffmpegPath', '/opt/ffmpeg', '/usr/bin/ffmpeg', '/opt/ffmpeg', '/usr/bin/ffmpeg', undefined],
    ['dataDir', 'flag-data', 'env-data', path.resolve('flag-data'), path.resolve('env-data'), path.resolve('.pictor')],
    ['host', '[::1]', '127.0.0.2', '::1', '127.0.0.2', '0.0.0.0'],
    ['baseDomain', 'Img.Example.com.', 'cdn.example.org', 'img.example.com', 'cdn.example.org', undefined],
    ['databaseUrl', 'postgres://a@h/one', 'postgres://b@h/two', 'postgres://a@h/one', 'postgres://b@h/two', undefined],
    ['nodeId', 'node-1', 'node-2', 'node-1', 'node-2', undefined],
    ['outboundAllow', '10.0.0.0/8', '127.0.0.1/32,::1', ['10.0.0.0/8'], ['127.0.0.1/32', '::1'], []],
  ];

  for (const [key, flag, env, fromFlag, fromEnv, byDefault] of samples) {
    it(`${settingName(SETTINGS[key])}: the flag, else the environment, else the default; an empty value counts as none`, () => {
      const variable = SETTINGS[key].env;
      assert.deepEqual(resolveOptions({ [key]: flag }, { [variable]: env })[key], fromFlag);
      assert.deepEqual(resolveOptions({}, { [variable]: env })[key], fromEnv);
      assert.deepEqual(resolveOptions({ [key]: '' }, { [variable]: env })[key], fromEnv);
      assert.deepEqual(resolveOptions({}, { [variable]: '' })[key], byDefault);
    });
  }

  it('--public-url: the flag, else PICTOR_PUBLIC_URL, else none', () => {
    assert.equal(resolveOptions({ publicUrl: 'https://a.example' }, { PICTOR_PUBLIC_URL: 'https://b.example' }).publicUrl?.host, 'a.example');
    assert.equal(resolveOptions({}, { PICTOR_PUBLIC_URL: 'https://b.example' }).publicUrl?.host, 'b.example');
    assert.equal(resolveOptions({}, {}).publicUrl, undefined);
  });

  it('an environment variable spelled like a setting but naming none is ignored, not an error', () => {
    const options = resolveOptions({}, { PICTOR_PROT: 'eighty', PICTOR_RENDER_THREAD: 'many', PICTOR_SECRET_KEYS: 'not a key' });
    assert.equal(options.port, 3000);
    assert.equal(options.renderThreads, 1);
    assert.equal(options.secretKeys, undefined);
  });

  it('too little render memory for the render concurrency names the value in use, also the default', () => {
    assert.throws(
      () => resolveOptions({}, { PICTOR_RENDER_CONCURRENCY: '100' }),
      /--render-memory \(PICTOR_RENDER_MEMORY\) must be at least 6464mb with 100 renders at once \(--render-concurrency\), got "1gb"$/,
    );
    assert.throws(() => resolveOptions({ renderMemoryBytes: '100mb' }, {}), /must be at least \d+mb with \d+ renders at once .*, got "100mb"/);
  });

  it('the sources commands resolve the base domain as serve does, and refuse an invalid one', () => {
    assert.equal(resolveSourceSettings({}, { PICTOR_BASE_DOMAIN: 'Images.Example.com.' }).baseDomain, 'images.example.com');
    assert.equal(resolveSourceSettings({}, {}).baseDomain, undefined);
    assert.throws(() => resolveSourceSettings({}, { PICTOR_BASE_DOMAIN: 'not a domain' }), /\(PICTOR_BASE_DOMAIN\) must be a domain name/);
  });

  it('pictor purge: --api, else PICTOR_API_URL, else the local admin listener; --key, else PICTOR_API_KEY', () => {
    assert.deepEqual(resolveClientSettings({}, {}), { apiUrl: 'http://127.0.0.1:3001', apiKey: undefined });
    assert.deepEqual(resolveClientSettings({}, { PICTOR_API_URL: 'https://pictor.internal:3001/', PICTOR_API_KEY: 'ak_env' }), {
      apiUrl: 'https://pictor.internal:3001/',
      apiKey: 'ak_env',
    });
    const env = { PICTOR_API_URL: 'https://x', PICTOR_API_KEY: 'ak_env' };
    assert.deepEqual(resolveClientSettings({ apiUrl: 'http://other:1', apiKey: 'ak_flag' }, env), { apiUrl: 'http://other:1', apiKey: 'ak_flag' });
    assert.throws(() => resolveClientSettings({ apiUrl: 'localhost:3001' }, {}), /--api \(PICTOR_API_URL\) must be an http or https URL/);
  });
});
