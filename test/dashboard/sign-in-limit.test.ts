import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminAccounts } from '../../src/dashboard/accounts.ts';
import { addressKey, SignInLimiter } from '../../src/dashboard/sign-in-limiter.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { startPictor, type TestPictor } from '../helpers/pictor.ts';
import { DashboardClient, type DashboardResponse } from './http-client.ts';

const WRONG = 'not the password at all';

/** A real Pictor whose sign-in limiter runs on a clock the test moves (the limiter never reads the real time). */
async function startWithClock(): Promise<{ t: TestPictor; limiter: SignInLimiter; advance: (seconds: number) => void }> {
  let now = Date.parse('2030-01-01T00:00:00Z');
  let limiter: SignInLimiter | undefined;
  const t = await startPictor({ hooks: { signInLimiter: (failures) => (limiter = new SignInLimiter(failures, () => now)) } });
  return { t, limiter: limiter!, advance: (seconds) => (now += seconds * 1000) };
}

/** One sign-in post from a client's current form. */
async function attempt(client: DashboardClient, password: string, username = 'admin'): Promise<DashboardResponse> {
  return client.post('/dashboard/sign-in', { _csrf: await client.csrf('/dashboard/sign-in'), username, password, next: '/dashboard/tools' });
}

/** Ends the client's session (its device cookie stays), so that it can sign in again. */
async function signOut(client: DashboardClient): Promise<void> {
  assert.equal((await client.post('/dashboard/sign-out', { _csrf: await client.csrf() })).status, 303);
}

function retryAfter(response: DashboardResponse): number {
  assert.equal(response.status, 429, response.text);
  const header = response.headers.get('retry-after') ?? '';
  assert.match(header, /^[1-9]\d*$/);
  return Number(header);
}

describe('dashboard sign-in limit: an attacker at the admin’s address', () => {
  let t: TestPictor;
  let advance: (seconds: number) => void;
  /** The admin's browser: signed in before the attack, so it holds a device cookie. */
  let trusted: DashboardClient;
  before(async () => {
    ({ t, advance } = await startWithClock());
    trusted = new DashboardClient(t.adminUrl);
  });
  after(() => t.stop());

  it('gives a browser that signs in a year-long device cookie for the sign-in form only, stored as a digest', async () => {
    const signedIn = await trusted.signIn('admin', t.adminPassword);
    assert.equal(signedIn.status, 303);
    const cookie = signedIn.setCookies.find((line) => line.startsWith('pictor_device='));
    assert.match(cookie ?? '', /^pictor_device=[A-Za-z0-9_-]{43}; Path=\/dashboard\/sign-in; HttpOnly; SameSite=Strict; Max-Age=31536000$/);
    const id = trusted.cookies.get('pictor_device')!;
    for (const file of ['pictor.db', 'pictor.db-wal']) {
      const bytes = await fs.readFile(path.join(t.dataDir, file)).catch(() => Buffer.alloc(0));
      assert.ok(!bytes.includes(Buffer.from(id)), `${file} does not hold the device id`);
    }
    await signOut(trusted);
    assert.ok(trusted.cookies.has('pictor_device'), 'signing out keeps the device cookie');
  });

  it('30 wrong passwords: free failures, then waits doubling to 15 minutes; refused attempts do not extend the wait', async () => {
    const attacker = new DashboardClient(t.adminUrl);
    const waits: number[] = [];
    for (let failures = 0; failures < 30; ) {
      const response = await attempt(attacker, WRONG);
      if (response.status === 401) {
        failures++;
        continue;
      }
      const wait = retryAfter(response);
      waits.push(wait);
      // Asking again at once is refused with the same wait: it is not extended, nor counted as a failure.
      assert.equal(retryAfter(await attempt(attacker, WRONG)), wait);
      advance(wait);
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, ...Array<number>(15).fill(900)]);
  });

  it('the admin’s trusted browser signs in at once, and a new browser from that address waits, is told why, then gets in', async () => {
    const signedIn = await trusted.signIn('admin', t.adminPassword);
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.location, '/dashboard/tools');
    assert.equal((await trusted.get('/dashboard/tools')).status, 200);
    await signOut(trusted);

    const newBrowser = new DashboardClient(t.adminUrl);
    const refused = await attempt(newBrowser, t.adminPassword);
    assert.equal(retryAfter(refused), 900);
    assert.match(
      refused.text,
      /Too many failed sign-ins from your address\. Wait 15 minutes, then try again\. A browser that has signed in to this account before is not affected: it can sign in now\./,
    );
    advance(899);
    assert.equal(retryAfter(await attempt(newBrowser, t.adminPassword)), 1);
    advance(1);
    const admitted = await attempt(newBrowser, t.adminPassword);
    assert.equal(admitted.status, 303);
    assert.ok(newBrowser.cookies.has('pictor_device'));
    // The right password reset the address: the next mistake is free again.
    assert.equal((await attempt(new DashboardClient(t.adminUrl), WRONG)).status, 401);
  });

  it('a trusted browser is held back by its own failures only, and those do not count against its address', async () => {
    const own = new DashboardClient(t.adminUrl);
    assert.equal((await own.signIn('admin', t.adminPassword)).status, 303);
    await signOut(own);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await attempt(own, WRONG)).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
    const refused = await attempt(own, t.adminPassword);
    assert.equal(retryAfter(refused), 1);
    assert.match(refused.text, /Too many failed sign-ins from this browser\. Wait 1 second, then try again\./);
    assert.doesNotMatch(refused.text, /not affected/);

    assert.equal((await new DashboardClient(t.adminUrl).signIn('admin', t.adminPassword)).status, 303, 'the address is not held back');
    assert.equal((await trusted.signIn('admin', t.adminPassword)).status, 303, 'nor another trusted browser');
    await signOut(trusted);
    advance(1);
    assert.equal((await attempt(own, t.adminPassword)).status, 303);
  });

  it('attempts sent together cannot all pass before the first fails', async () => {
    const crowd = new DashboardClient(t.adminUrl, { localAddress: '127.0.0.9' });
    const token = await crowd.csrf('/dashboard/sign-in');
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => crowd.post('/dashboard/sign-in', { _csrf: token, username: 'admin', password: WRONG })),
    );
    const statuses = responses.map((response) => response.status).sort((a, b) => a - b);
    assert.deepEqual(statuses, [...Array<number>(5).fill(401), ...Array<number>(15).fill(429)]);
  });
});

describe('dashboard sign-in limit: guesses spread over many addresses', () => {
  let t: TestPictor;
  let advance: (seconds: number) => void;
  let trusted: DashboardClient;
  before(async () => {
    ({ t, advance } = await startWithClock());
    trusted = new DashboardClient(t.adminUrl);
    assert.equal((await trusted.signIn('admin', t.adminPassword)).status, 303);
    await signOut(trusted);
  });
  after(() => t.stop());

  it('slows the account after 20 failures, whatever the address; the trusted browser still signs in at once', async () => {
    // 127.0.0.0/8 is all loopback on Linux: each client below is another address to the server.
    for (let host = 2; host <= 21; host++) {
      assert.equal((await attempt(new DashboardClient(t.adminUrl, { localAddress: `127.0.0.${host}` }), WRONG)).status, 401, `127.0.0.${host}`);
    }
    const fresh = new DashboardClient(t.adminUrl, { localAddress: '127.0.0.22' });
    const refused = await attempt(fresh, WRONG);
    assert.equal(retryAfter(refused), 1);
    assert.match(refused.text, /Too many failed sign-ins to this account\. Wait 1 second, then try again\. A browser that has signed in to this account before is not affected/);

    assert.equal((await trusted.signIn('admin', t.adminPassword)).status, 303);
    // The trusted sign-in did not reset the account: a new browser, from yet another address, still waits.
    const newBrowser = new DashboardClient(t.adminUrl, { localAddress: '127.0.0.23' });
    assert.equal(retryAfter(await attempt(newBrowser, t.adminPassword)), 1);
    advance(1);
    assert.equal((await attempt(newBrowser, t.adminPassword)).status, 303);
  });
});

describe('dashboard sign-in limit: what counts as a trusted device', () => {
  let t: TestPictor;
  let trusted: DashboardClient;
  before(async () => {
    ({ t } = await startWithClock());
    trusted = new DashboardClient(t.adminUrl);
    assert.equal((await trusted.signIn('admin', t.adminPassword)).status, 303);
    await signOut(trusted);
    // Hold the address back: 5 failures, and the clock never moves in this suite.
    const attacker = new DashboardClient(t.adminUrl);
    for (let i = 0; i < 5; i++) assert.equal((await attempt(attacker, WRONG)).status, 401);
  });
  after(() => t.stop());

  it('a forged or malformed device cookie counts as no device', async () => {
    const real = trusted.cookies.get('pictor_device')!;
    const oneCharOff = `${real.slice(0, 42)}${real.endsWith('A') ? 'B' : 'A'}`;
    for (const forged of [randomBytes(32).toString('base64url'), 'x', oneCharOff]) {
      const client = new DashboardClient(t.adminUrl);
      client.cookies.set('pictor_device', forged);
      assert.equal((await attempt(client, t.adminPassword)).status, 429, forged);
    }
  });

  it('another account’s device counts as no device', async () => {
    const stores = await openStores({ dataDir: t.dataDir });
    try {
      await new AdminAccounts(stores.accounts).setPassword('editor', 'an editor passphrase');
    } finally {
      await stores.close();
    }
    const editor = new DashboardClient(t.adminUrl, { localAddress: '127.0.0.5' });
    assert.equal((await editor.signIn('editor', 'an editor passphrase')).status, 303);
    const borrowed = new DashboardClient(t.adminUrl);
    borrowed.cookies.set('pictor_device', editor.cookies.get('pictor_device')!);
    assert.equal((await attempt(borrowed, t.adminPassword)).status, 429);
  });

  it('changing the password (pictor admin set-password) revokes the account’s devices', async () => {
    assert.equal((await trusted.signIn('admin', t.adminPassword)).status, 303, 'trusted before');
    await signOut(trusted);
    const stores = await openStores({ dataDir: t.dataDir });
    let forgotten: number;
    try {
      ({ devicesForgotten: forgotten } = await new AdminAccounts(stores.accounts).setPassword('admin', 'a brand new passphrase'));
    } finally {
      await stores.close();
    }
    assert.equal(forgotten, 1, 'the device issued at the last sign-in replaced the one before');
    assert.equal((await attempt(trusted, 'a brand new passphrase')).status, 429, 'now held back by its address like any browser');
  });
});

/** A limiter on the counts of a store of its own (SQLite in a temporary data directory), on a clock the test moves. */
async function storedLimiter(): Promise<{ limiter: SignInLimiter; advance: (ms: number) => void; close: () => Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pictor-sign-in-'));
  const stores = await openStores({ dataDir: dir, secrets: 'when-used' });
  let now = 0;
  const limiter = new SignInLimiter(stores.signInFailures, () => now);
  const close = async (): Promise<void> => {
    await stores.close();
    await fs.rm(dir, { recursive: true, force: true });
  };
  return { limiter, advance: (ms) => (now += ms), close };
}

describe('dashboard sign-in limit: stored counts', () => {
  it('unknown names add no rows and cannot push out an account’s failures', async () => {
    const { limiter, close } = await storedLimiter();
    try {
      const from = (i: number) => `10.0.${(i >> 8) & 255}.${i & 255}`;
      for (let i = 0; i < 20; i++) assert.equal(await limiter.admit({ address: from(i), account: 'admin', device: undefined }), undefined);
      const admin = { address: '192.0.2.1', account: 'admin', device: undefined };
      assert.equal((await limiter.admit(admin))?.limit, 'account');
      for (let i = 0; i < 1_000; i++) await limiter.admit({ address: '198.51.100.1', account: undefined, device: undefined });
      assert.deepEqual(await limiter.sizes(), { address: 21, account: 2, device: 0 });
      assert.equal((await limiter.admit(admin))?.limit, 'account', 'the account’s failures are still there');
    } finally {
      await close();
    }
  });

  it('drops the rows of keys that have not failed for a day', async () => {
    const { limiter, advance, close } = await storedLimiter();
    try {
      const from = (i: number) => `10.0.${(i >> 8) & 255}.${i & 255}`;
      for (let i = 0; i < 60; i++) {
        // Time enough between attempts that the shared count of unknown names refuses none: every address is counted.
        advance(16 * 60 * 1000);
        assert.equal(await limiter.admit({ address: from(i), account: undefined, device: undefined }), undefined);
      }
      assert.deepEqual(await limiter.sizes(), { address: 60, account: 1, device: 0 });
      advance(24 * 60 * 60 * 1000);
      await limiter.admit({ address: '192.0.2.9', account: undefined, device: undefined });
      assert.deepEqual(await limiter.sizes(), { address: 1, account: 1, device: 0 });
    } finally {
      await close();
    }
  });

  it('over HTTP, every unknown user name shares one count', async () => {
    const { t, limiter, advance } = await startWithClock();
    try {
      const client = new DashboardClient(t.adminUrl);
      for (let i = 0; i < 12; i++) {
        assert.equal((await attempt(client, WRONG, `nobody-${i}`)).status, 401);
        advance(16 * 60);
      }
      assert.deepEqual(await limiter.sizes(), { address: 1, account: 1, device: 0 });
    } finally {
      await t.stop();
    }
  });

  it('forgets an address that has not failed for a day', async () => {
    const { limiter, advance, close } = await storedLimiter();
    try {
      const attempt = { address: '192.0.2.1', account: undefined, device: undefined };
      for (let i = 0; i < 5; i++) assert.equal(await limiter.admit(attempt), undefined);
      assert.deepEqual(await limiter.admit(attempt), { limit: 'address', retryAfterSeconds: 1 });
      advance(24 * 60 * 60 * 1000 - 1);
      assert.equal(await limiter.admit(attempt), undefined, 'the wait is over, but the failures are remembered');
      assert.equal((await limiter.admit(attempt))?.retryAfterSeconds, 2);
      advance(24 * 60 * 60 * 1000);
      for (let i = 0; i < 5; i++) assert.equal(await limiter.admit(attempt), undefined, 'free again');
    } finally {
      await close();
    }
  });

  it('counts IPv6 clients by their /64, and IPv4-mapped addresses as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:2:ffff::9'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(addressKey('192.0.2.7'), '192.0.2.7');
  });
});
