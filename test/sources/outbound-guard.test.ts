import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { isPictorError } from '../../src/errors.ts';
import { canonicalPath } from '../../src/sources/asset-path.ts';
import { createGuardedFetcher, type GuardedFetcher } from '../../src/sources/http-fetch.ts';
import { AddressPolicy, classifyAddress, guardedNodeAgents, OutboundGuard, OutboundPreflight } from '../../src/sources/outbound-guard.ts';
import { WebFolderOrigin } from '../../src/sources/webfolder-origin.ts';
import { WebProxyOrigin } from '../../src/sources/webproxy-origin.ts';
import { startOrigin, type TestOrigin } from '../helpers/origin-server.ts';

// Every test here sends traffic to 127.0.0.0/8 only: the other addresses appear in URLs and redirects that
// the guard must refuse before connecting.

describe('IP classifier', () => {
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.255.1.2', /loopback/],
    ['10.0.0.1', /private/],
    ['172.16.5.4', /private/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['169.254.169.254', /link-local, cloud metadata/],
    ['169.254.1.1', /link-local/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['192.0.2.1', /reserved/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['fc00::1', /unique local/],
    ['fd00:ec2::254', /unique local \(ULA\), cloud metadata/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /IPv4-mapped loopback/],
    ['::ffff:7f00:1', /IPv4-mapped loopback/],
    ['::ffff:169.254.169.254', /IPv4-mapped link-local, cloud metadata/],
    ['::ffff:10.1.2.3', /IPv4-mapped private/],
    ['::ffff:0:10.1.2.3', /IPv4-translated private/],
    ['64:ff9b::a00:1', /NAT64 private/],
    ['64:ff9b::7f00:1', /NAT64 loopback/],
    ['64:ff9b:1::1', /NAT64/],
    ['2002:7f00:1::1', /6to4 loopback/],
    ['2002:a9fe:a9fe::1', /6to4 link-local/],
    ['2001:0:4136:e378::1', /Teredo/],
    ['::127.0.0.1', /loopback/],
    ['::7f00:1', /IPv4-compatible/],
    ['2001:db8::1', /reserved/],
    ['not-an-ip', /invalid/],
  ];
  for (const [address, reason] of refused) {
    it(`refuses ${address}`, () => assert.match(classifyAddress(address) ?? 'public', reason));
  }

  for (const address of ['93.184.216.34', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1']) {
    it(`allows the public ${address}`, () => assert.equal(classifyAddress(address), undefined));
  }

  it('admits exactly what the allow-list names (IPs and CIDRs, v4 and v6)', () => {
    const policy = new AddressPolicy(['127.0.0.1/32', '10.0.0.0/8', '::1', 'fd00::/8', '192.168.1.7']);
    assert.equal(policy.refusal('127.0.0.1'), undefined);
    assert.match(policy.refusal('127.0.0.2') ?? '', /loopback/);
    assert.equal(policy.refusal('10.200.3.4'), undefined);
    assert.equal(policy.refusal('::ffff:10.200.3.4'), undefined, 'IPv4-mapped matches the IPv4 CIDR');
    assert.equal(policy.refusal('::ffff:127.0.0.1'), undefined);
    assert.equal(policy.refusal('::1'), undefined);
    assert.equal(policy.refusal('fd12::1'), undefined);
    assert.match(policy.refusal('fc00::1') ?? '', /unique local/);
    assert.equal(policy.refusal('192.168.1.7'), undefined);
    assert.match(policy.refusal('192.168.1.8') ?? '', /private/);
    assert.match(policy.refusal('169.254.169.254') ?? '', /cloud metadata/);
    assert.equal(policy.refusal('8.8.8.8'), undefined, 'public addresses need no allow-list');
    assert.match(new AddressPolicy([]).refusal('127.0.0.1') ?? '', /loopback/);
  });
});

function isRefusal(error: unknown): boolean {
  return isPictorError(error) && error.code === 'OUTBOUND_REFUSED' && error.status === 403;
}

describe('guarded fetches (SSRF)', () => {
  let origin: TestOrigin;
  const fetchers: GuardedFetcher[] = [];
  const fetcher = (outboundAllow: string[], extra: Partial<Parameters<typeof createGuardedFetcher>[0]> = {}): GuardedFetcher => {
    const created = createGuardedFetcher({ outboundAllow, timeoutSeconds: 3, maxBytes: 1_000_000, backoffMs: 5, ...extra });
    fetchers.push(created);
    return created;
  };

  before(async () => {
    origin = await startOrigin((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const to = url.searchParams.get('to');
      if (url.pathname === '/redirect' && to !== null) {
        res.writeHead(302, { location: to }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png' }).end('pixels');
    });
  });
  after(async () => {
    await Promise.all(fetchers.map((created) => created.close()));
    await origin.close();
  });

  it('refuses a webfolder on 127.0.0.1 with an empty allow-list, before any connection', async () => {
    const before = { requests: origin.requests.length, connections: origin.connections };
    const webfolder = new WebFolderOrigin(`${origin.url}/images/`, fetcher([]));
    await assert.rejects(webfolder.fetch('/a.png'), (error) => isRefusal(error) && /127\.0\.0\.1 is not a public address \(loopback\)/.test((error as Error).message));
    assert.equal(origin.requests.length, before.requests);
    assert.equal(origin.connections, before.connections, 'never connected');
  });

  it('refuses a webproxy URL to 127.0.0.1 and [::1] and ::ffff:127.0.0.1 with an empty allow-list', async () => {
    const before = { requests: origin.requests.length, connections: origin.connections };
    const proxy = new WebProxyOrigin(fetcher([]));
    for (const target of [`${origin.url}/a.png`, `http://[::1]:${origin.port}/a.png`, `http://[::ffff:127.0.0.1]:${origin.port}/a.png`, `http://2130706433:${origin.port}/a.png`, `http://0x7f.1:${origin.port}/a.png`]) {
      await assert.rejects(proxy.fetch(`/${encodeURIComponent(target)}`), isRefusal, target);
    }
    assert.equal(origin.requests.length, before.requests);
    assert.equal(origin.connections, before.connections);
  });

  it('refuses a host name that resolves to 127.0.0.1 (localhost) without the allow-list, after resolution', async () => {
    const before = origin.connections;
    await assert.rejects(fetcher([])(`http://localhost:${origin.port}/a.png`), (error) => isRefusal(error) && /localhost resolves to/.test((error as Error).message));
    assert.equal(origin.connections, before);
  });

  it('allows 127.0.0.1 with --outbound-allow 127.0.0.1/32 (webfolder, webproxy, localhost)', async () => {
    const allowed = fetcher(['127.0.0.1/32']);
    const webfolder = await new WebFolderOrigin(`${origin.url}/images`, allowed).fetch('/a%20b.png');
    assert.equal(webfolder.kind, 'found');
    assert.equal(origin.requests.at(-1)!.url, '/images/a%20b.png');
    const proxied = await new WebProxyOrigin(allowed).fetch(`/${encodeURIComponent(`${origin.url}/x/y.png?v=2`)}`);
    assert.equal(proxied.kind, 'found');
    assert.equal(origin.requests.at(-1)!.url, '/x/y.png?v=2');
    const canonical = await new WebProxyOrigin(allowed).fetch(canonicalPath(`/${encodeURIComponent(`${origin.url}/x/z.png`)}`));
    assert.equal(canonical.kind, 'found', 'the canonical form of a webproxy path works too');
    assert.equal(origin.requests.at(-1)!.url, '/x/z.png');
    // localhost resolves to 127.0.0.1 and ::1; only the allowed 127.0.0.1 is used.
    assert.equal((await allowed(`http://localhost:${origin.port}/l.png`)).kind, 'found');
  });

  it('refuses a redirect from an allowed origin to private, metadata or other schemes, without connecting there', async () => {
    const allowed = fetcher(['127.0.0.1/32']);
    const targets: [string, RegExp][] = [
      ['http://10.0.0.1/secret', /private/],
      ['http://169.254.169.254/latest/meta-data/', /cloud metadata/],
      ['http://[fd00:ec2::254]/latest/meta-data/', /cloud metadata/],
      ['http://[::ffff:169.254.169.254]/', /IPv4-mapped link-local/],
      ['http://192.168.0.1:8080/', /private/],
      [`http://[::1]:${origin.port}/a.png`, /loopback/],
      ['file:///etc/passwd', /scheme file:/],
      ['ftp://127.0.0.1/a.png', /scheme ftp:/],
      ['http://user:pw@127.0.0.1/a.png', /credentials/],
    ];
    for (const [target, reason] of targets) {
      const seen = origin.requests.length;
      await assert.rejects(allowed(`${origin.url}/redirect?to=${encodeURIComponent(target)}`), (error) => isRefusal(error) && reason.test((error as Error).message), target);
      assert.equal(origin.requests.length, seen + 1, 'only the first hop reached the origin');
    }
  });

  it('refuses a redirect to a host name that resolves to a refused address', async () => {
    const allowed = fetcher(['127.0.0.1/32'], { resolve: (hostname) => Promise.resolve(hostname === 'metadata.test' ? [{ address: '169.254.169.254', family: 4 }] : []) });
    await assert.rejects(allowed(`${origin.url}/redirect?to=${encodeURIComponent('http://metadata.test/latest/')}`), (error) => isRefusal(error) && /metadata\.test resolves to 169\.254\.169\.254/.test((error as Error).message));
  });

  it('connects to the validated address from its own resolution (no second lookup to rebind)', async () => {
    // `rebind.test` exists only in this resolver: reaching the origin proves the socket used the checked address.
    let lookups = 0;
    const resolve = (hostname: string) => {
      lookups++;
      return Promise.resolve(hostname === 'rebind.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    };
    const seen = origin.requests.length;
    const result = await fetcher(['127.0.0.1/32'], { resolve })(`http://rebind.test:${origin.port}/r.png`);
    assert.equal(result.kind, 'found');
    assert.equal(origin.requests.length, seen + 1);
    assert.equal(origin.requests.at(-1)!.headers.host, `rebind.test:${origin.port}`);
    assert.equal(lookups, 1);
    // Without the allow-list the same resolution is refused.
    await assert.rejects(fetcher([], { resolve })(`http://rebind.test:${origin.port}/r.png`), isRefusal);
    // A name with a mix of addresses only ever gets the allowed ones.
    const mixed = fetcher(['127.0.0.1/32'], {
      resolve: () => Promise.resolve([{ address: '10.0.0.1', family: 4 }, { address: '169.254.169.254', family: 4 }, { address: '127.0.0.1', family: 4 }]),
    });
    assert.equal((await mixed(`http://mixed.test:${origin.port}/m.png`)).kind, 'found');
  });

  it('refuses at the connection layer too, whatever the caller checked', async () => {
    const guard = new OutboundGuard([]);
    const before = origin.connections;
    try {
      await assert.rejects(request(`${origin.url}/direct.png`, { dispatcher: guard.agent }), isRefusal);
      await assert.rejects(request(`http://localhost:${origin.port}/direct.png`, { dispatcher: guard.agent }), isRefusal);
    } finally {
      await guard.close();
    }
    assert.equal(origin.connections, before);
  });

  it('node:http agents (the AWS SDK\'s) make the same checks: IP literals and every resolved address', async () => {
    const get = (url: string, agent: http.Agent) =>
      new Promise<number>((resolve, reject) => {
        http.get(url, { agent }, (response) => response.resume().on('end', () => resolve(response.statusCode ?? 0))).on('error', reject);
      });
    const refused = guardedNodeAgents([]);
    const allowed = guardedNodeAgents(['127.0.0.1/32']);
    const rebinding = guardedNodeAgents(['127.0.0.1/32'], { resolve: () => Promise.resolve([{ address: '10.0.0.1', family: 4 }, { address: '127.0.0.1', family: 4 }]) });
    try {
      const before = origin.connections;
      await assert.rejects(get(`${origin.url}/n.png`, refused.httpAgent), (error) => isRefusal(error) && /127\.0\.0\.1 is not a public address \(loopback\)/.test((error as Error).message));
      await assert.rejects(get(`http://[::1]:${origin.port}/n.png`, refused.httpAgent), isRefusal);
      await assert.rejects(get(`http://localhost:${origin.port}/n.png`, refused.httpAgent), (error) => isRefusal(error) && /localhost resolves to/.test((error as Error).message));
      assert.equal(origin.connections, before, 'never connected');
      assert.equal(await get(`http://localhost:${origin.port}/n.png`, allowed.httpAgent), 200);
      assert.equal(await get(`http://only-in-this-resolver.test:${origin.port}/n.png`, rebinding.httpAgent), 200, 'connected to the address its lookup checked');
    } finally {
      for (const agents of [refused, allowed, rebinding]) {
        agents.httpAgent.destroy();
        agents.httpsAgent.destroy();
      }
    }
  });

  it('webproxy paths must be absolute http(s) URLs (400)', async () => {
    const proxy = new WebProxyOrigin(fetcher([]));
    for (const bad of ['/not-a-url.png', '/ftp%3A%2F%2Fexample.com%2Fa.png', '/file%3A%2F%2F%2Fetc%2Fpasswd', '/http%3A%2F%2F', '/javascript%3Aalert(1)']) {
      await assert.rejects(proxy.fetch(bad), (error) => isPictorError(error) && error.code === 'INVALID_PATH' && error.status === 400, bad);
    }
  });
});

describe('OutboundPreflight: the guard asked when a Source is saved', () => {
  const table = (addresses: Record<string, string[]>) => (hostname: string) =>
    Promise.resolve((addresses[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));

  it('judges an IP literal as the connection would, the allow-list included', async () => {
    const preflight = new OutboundPreflight([]);
    assert.deepEqual(await preflight.refusal(new URL('http://127.0.0.1:8080/a/')), { address: '127.0.0.1', reason: 'loopback' });
    assert.deepEqual(await preflight.refusal(new URL('http://[::ffff:10.0.0.1]/')), { address: '::ffff:a00:1', reason: 'IPv4-mapped private (RFC 1918)' });
    assert.equal(await preflight.refusal(new URL('https://93.184.215.14/')), undefined);
    assert.equal(await new OutboundPreflight(['10.0.0.0/8']).refusal(new URL('http://10.1.2.3/')), undefined);
  });

  it('resolves a name and refuses it only when none of its addresses may be reached', async () => {
    const resolve = table({ 'intranet.test': ['10.0.0.7', '192.168.1.2'], 'mixed.test': ['10.0.0.7', '93.184.215.14'], 'public.test': ['93.184.215.14'] });
    const preflight = new OutboundPreflight([], { resolve });
    assert.deepEqual(await preflight.refusal(new URL('http://intranet.test/')), { address: '10.0.0.7', reason: 'private (RFC 1918)' });
    assert.equal(await preflight.refusal(new URL('http://mixed.test/')), undefined, 'the connection goes to the public address');
    assert.equal(await preflight.refusal(new URL('http://public.test/')), undefined);
    assert.equal(await new OutboundPreflight(['10.0.0.0/8', '192.168.0.0/16'], { resolve }).refusal(new URL('http://intranet.test/')), undefined);
  });

  it('does not judge a name that fails to resolve, or does not resolve within its wait', async () => {
    const failing = new OutboundPreflight([], { resolve: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })) });
    assert.equal(await failing.refusal(new URL('http://nowhere.test/')), undefined);
    const silent = new OutboundPreflight([], { resolve: () => new Promise(() => {}), resolveTimeoutMs: 20 });
    assert.equal(await silent.refusal(new URL('http://slow.test/')), undefined);
  });
});
