/**
 * The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium) driven by playwright-core, against a
 * real Pictor on port 0. Run with `npm run test:browser`. A screenshot of every page is kept under
 * test-output/screenshots/ (laptop width, and phone width for the main pages).
 */
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Origin } from '../../src/sources/origin.ts';
import { gate, meanColour, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { assertTool, CHROMIUM, skipWithout } from '../helpers/tools.ts';

const SCREENSHOTS = path.resolve('test-output/screenshots');
const LAPTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

describe('dashboard in Chromium', { skip: skipWithout('chromium'), timeout: 180_000 }, () => {
  let t: TestPictor;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let photosDir: string;
  /** Console errors (and uncaught page errors) since the last check. */
  let consoleErrors: string[] = [];
  /** While set, origin reads of `/image%20file.jpg` wait for it: keeps a purge pending so the page shows it live. */
  let holdOrigin: Promise<void> | undefined;
  let purgeOnlyKey = '';

  before(async () => {
    assertTool('chromium');
    await fsp.mkdir(SCREENSHOTS, { recursive: true });
    photosDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pictor-photos-'));
    await fsp.writeFile(path.join(photosDir, 'dog.jpg'), await solidImage(64, 48, [30, 160, 60]));
    t = await startPictor({
      assets: { 'image file.jpg': await solidImage(80, 60, [200, 0, 0]), 'image+file.jpg': await solidImage(80, 60, [0, 0, 200]) },
      options: { purgeRateLimit: '1000', folderRoots: photosDir },
      hooks: {
        originInterceptor: (origin): Origin => ({
          fetch: async (canonicalPath, validators) => {
            if (holdOrigin && canonicalPath === '/image%20file.jpg') await holdOrigin;
            return origin.fetch(canonicalPath, validators);
          },
        }),
      },
    });
    assert.match(t.adminPassword, /^.{20,}$/, 'the first start creates the admin password');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: LAPTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.adminUrl });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: uncaught ${error.message}`));
    // Only 127.0.0.1 is ever loaded.
    await context.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
  });

  after(async () => {
    await browser?.close();
    await t?.stop();
    await fsp.rm(photosDir, { recursive: true, force: true });
  });

  /** No console error since the last check, except a document answered with an expected error status. */
  const assertConsoleClean = (allowedStatus?: number): void => {
    const errors = consoleErrors.filter(
      (text) => allowedStatus === undefined || !text.includes(`the server responded with a status of ${allowedStatus}`),
    );
    consoleErrors = [];
    assert.deepEqual(errors, [], 'no console errors');
  };

  const shot = async (name: string, options: { phone?: boolean } = {}): Promise<void> => {
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
    if (options.phone) {
      await page.setViewportSize(PHONE);
      // Nothing wider than a phone: wide tables scroll inside their own box.
      assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= PHONE.width, `${name}: no sideways scrolling at phone width`);
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
      await page.setViewportSize(LAPTOP);
    }
  };

  const visit = async (pathname: string): Promise<void> => {
    const response = await page.goto(`${t.adminUrl}${pathname}`);
    assert.equal(response?.status(), 200, `GET ${pathname}`);
  };

  const signIn = async (password: string): Promise<void> => {
    await page.getByLabel('User name').fill('admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('load');
  };

  const api = (pathname: string, key: string, init: RequestInit = {}) =>
    fetch(`${t.adminUrl}${pathname}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/vnd.api+json', ...init.headers } });

  it('sends / to the sign-in page; a wrong password fails; the right one signs in', async () => {
    await page.goto(`${t.adminUrl}/`);
    assert.match(page.url(), /\/dashboard\/sign-in\?next=/);
    await shot('sign-in', { phone: true });
    assertConsoleClean();

    await signIn('not-the-password-at-all');
    assert.match(page.url(), /\/dashboard\/sign-in$/);
    assert.match(await page.getByRole('alert').innerText(), /user name or the password is wrong/);
    await shot('sign-in-wrong-password');
    assertConsoleClean(401);

    await signIn(t.adminPassword);
    assert.match(page.url(), /\/dashboard\/tools$/);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Tools');
    const cookie = (await context.cookies()).find((candidate) => candidate.name === 'pictor_session');
    assert.ok(cookie?.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/');
    assert.equal(cookie.secure, false, 'not Secure over plain http');
    // The browser is now trusted: a year-long device cookie, sent to the sign-in form only.
    const device = (await context.cookies()).find((candidate) => candidate.name === 'pictor_device');
    assert.ok(device?.httpOnly, 'the device cookie is HttpOnly');
    assert.equal(device.sameSite, 'Strict');
    assert.equal(device.path, '/dashboard/sign-in');
    assert.ok(device.expires * 1000 > Date.now() + 360 * 24 * 60 * 60 * 1000, 'about a year');
    assertConsoleClean();

    // Keyboard: the first Tab reaches the skip link, which moves to the content.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  });

  it('purges a URL with a space: shows the exact encoded URL first, then the purge live until it completes, with its verdict', async () => {
    // The asset is rendered (so cached), then replaced at the origin, as the product page says to do first.
    assert.equal((await fetch(`${t.renderUrl}/image%20file.jpg?w=40`)).status, 200);
    await t.put('image file.jpg', await solidImage(80, 60, [0, 200, 0]));

    await visit('/dashboard/tools');
    const input = page.getByLabel('URL of the asset');
    await input.fill(`${t.renderUrl}/image file.jpg`);
    const exact = page.locator('[data-exact-url]');
    await exact.waitFor();
    assert.equal(await exact.innerText(), `${t.renderUrl}/image%20file.jpg`);
    assert.match(await page.locator('[data-purge-preview]').innerText(), /a space becomes %20/);
    assert.match(await page.locator('.purge-form').innerText(), /image%20file\.png is not image\+file\.png/);
    assert.equal(await page.locator('[data-purge-preview]').getAttribute('aria-live'), 'polite');
    await shot('tools-purge-preview', { phone: true });

    const held = gate();
    holdOrigin = held.wait();
    await page.getByRole('button', { name: 'Purge', exact: true }).click();
    await page.waitForURL(/\/dashboard\/tools\?purge=/);
    const panel = page.locator('[data-purge-status]');
    assert.equal(await panel.getAttribute('data-status'), 'pending');
    assert.equal(await panel.locator('[data-field="statusLabel"]').innerText(), 'Pending…');
    assert.equal(await panel.locator('[data-field="target"]').innerText(), `${t.renderUrl}/image%20file.jpg`);
    await shot('tools-purge-pending');
    holdOrigin = undefined;
    held.open();

    await page.locator('[data-purge-status][data-status="completed"]').waitFor({ timeout: 10_000 });
    assert.equal(await panel.locator('[data-field="statusLabel"]').innerText(), 'Completed');
    assert.match(await panel.locator('[data-field="originLabel"]').innerText(), /^replaced/);
    assert.match(await panel.locator('[data-field="durationLabel"]').innerText(), /^\d+ ms$|^\d+\.\d+ s$/);
    assert.equal(await panel.locator('[data-field="requestedBy"]').innerText(), 'user:admin');
    assert.ok(await panel.locator('[data-field="advice"]').isHidden());
    await shot('tools-purge-completed');

    // The same purge as the JSON:API reports it: the duration shown is completed_at − created_at.
    const purgeId = new URL(page.url()).searchParams.get('purge')!;
    const status = (await (await api(`/api/v1/purges/${purgeId}`, t.apiKey)).json()) as any;
    assert.equal(status.data.attributes.url, `${t.renderUrl}/image%20file.jpg`);
    assert.equal(status.data.attributes.origin, 'replaced');
    const took = Date.parse(status.data.attributes.completed_at) - Date.parse(status.data.attributes.created_at);
    const shown = await panel.locator('[data-field="durationLabel"]').innerText();
    if (shown.endsWith(' ms')) assert.equal(Number(shown.slice(0, -3)), took);

    // Again, with the file unchanged: the verdict says so, with the advice.
    await input.fill(`${t.renderUrl}/image file.jpg`);
    await page.getByRole('button', { name: 'Purge', exact: true }).click();
    await page.locator('[data-purge-status][data-status="completed"]').waitFor({ timeout: 10_000 });
    assert.match(await panel.locator('[data-field="originLabel"]').innerText(), /^unchanged/);
    const advice = panel.locator('[data-field="advice"]');
    assert.ok(await advice.isVisible());
    assert.match(await advice.innerText(), /Change or remove the file at the origin first/);
    await shot('tools-purge-unchanged', { phone: true });
    assertConsoleClean();
  });

  it('purges a folder (prefix) and a whole Source from the same view', async () => {
    await visit('/dashboard/tools');
    await page.getByLabel('URL of the asset').fill(`${t.renderUrl}/photos`);
    await page.getByLabel('Everything under this folder').check();
    await page.locator('[data-exact-url]').waitFor();
    assert.equal(await page.locator('[data-exact-url]').innerText(), `${t.renderUrl}/photos/`);
    await page.getByRole('button', { name: 'Purge', exact: true }).click();
    await page.locator('[data-purge-status][data-status="completed"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-field="target"]').innerText(), `Everything under ${t.renderUrl}/photos/`);

    // No Source is chosen for the user; the purge waits for a confirmation that names the Source.
    assert.equal(await page.getByLabel('Source', { exact: true }).inputValue(), '');
    await page.getByLabel('Source', { exact: true }).selectOption(t.defaultSourceId);
    await page.getByRole('button', { name: 'Purge the whole Source…' }).click();
    await page.waitForURL(/\/dashboard\/tools\/purge-source$/);
    assert.match(await page.locator('main').innerText(), /Purge everything cached for the Source “default”/);
    await shot('tools-purge-source-confirm', { phone: true });
    // Keyboard: the confirming button is reached with Tab and pressed with Enter.
    await page.getByRole('button', { name: 'Purge the whole Source', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-purge-status][data-status="completed"]').waitFor({ timeout: 10_000 });
    assert.match(await page.locator('[data-field="target"]').innerText(), /^Everything cached for the Source "default"/);
    assertConsoleClean();
  });

  it('lists the purges newest first, with who requested them, filterable by status and URL', async () => {
    await t.purgeAndWait(`${t.renderUrl}/image+file.jpg`);
    await visit('/dashboard/purges');
    const rows = page.locator('table.purges tbody tr');
    assert.equal(await rows.count(), 5);
    const first = await rows.nth(0).innerText();
    assert.match(first, /image\+file\.jpg/);
    assert.match(first, /admin \(first start\)/, 'an API purge names its key');
    assert.match(await rows.nth(1).innerText(), /Everything cached for the Source "default"/);
    const dashboardRow = await rows.nth(3).innerText();
    assert.match(dashboardRow, /image%20file\.jpg/);
    assert.match(dashboardRow, /user:admin/);
    assert.match(dashboardRow, /completed/);
    assert.match(dashboardRow, /unchanged/);
    await shot('purges', { phone: true });

    await page.getByLabel('URL contains').fill('image%20');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/q=image%2520/);
    assert.equal(await rows.count(), 2);
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=failed/);
    assert.equal(await rows.count(), 0);
    assert.match(await page.locator('#purges-count').innerText(), /No purges match/);
    assertConsoleClean();
  });

  it('creates a key with only Purge, shown once with a copy button: it purges (200) but cannot use Sources (403)', async () => {
    await visit('/dashboard/keys');
    await page.getByLabel('Name').fill('CI purge only');
    await page.getByLabel('Purge', { exact: true }).check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.waitForURL(/\/dashboard\/keys$/);
    purgeOnlyKey = await page.locator('[data-new-key]').innerText();
    assert.match(purgeOnlyKey, /^ak_[0-9a-f]{64}$/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.locator('[data-copy-status="new-key-value"]').filter({ hasText: /Copied|Selected/ }).waitFor();
    if ((await page.locator('[data-copy-status="new-key-value"]').innerText()).startsWith('Copied')) {
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), purgeOnlyKey);
    }
    const row = page.locator('table.keys tbody tr', { hasText: 'CI purge only' });
    assert.match(await row.innerText(), /Purge\s/);
    assert.match(await row.innerText(), /Active/);
    assert.doesNotMatch(await row.innerText(), /Sources|Admin/);
    await shot('keys-new-key', { phone: true });

    const purged = await api('/api/v1/purge', purgeOnlyKey, {
      method: 'POST',
      body: JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/image%20file.jpg` } } }),
    });
    assert.equal(purged.status, 200);
    assert.equal((await api('/api/v1/sources', purgeOnlyKey)).status, 403);

    await page.reload();
    assert.equal(await page.locator('[data-new-key]').count(), 0, 'the key is shown only once');
    assert.ok(!(await page.content()).includes(purgeOnlyKey));
    assertConsoleClean();
  });

  it('creates a folder Source (with a validation error shown next to its field first) and lists it with its id and domains', async () => {
    await visit('/dashboard/sources/new');
    assert.ok(await page.locator('[data-type-fields="folder"]').isVisible());
    await page.getByLabel('Type').selectOption('s3');
    assert.ok(await page.locator('[data-type-fields="s3"]').isVisible());
    assert.ok(await page.locator('[data-type-fields="folder"]').isHidden());
    await page.getByLabel('Type').selectOption('folder');

    await page.getByLabel('Name', { exact: true }).fill('Photos');
    await page.getByLabel('Folder path').fill(path.join(photosDir, 'not-here'));
    await page.getByLabel('Custom domains').fill('photos.example.test\nPics.Example.Test');
    await page.getByLabel('Secure URLs (every URL must be signed)').check();
    await page.getByRole('button', { name: 'Create Source' }).click();
    const folderField = page.getByLabel('Folder path');
    assert.equal(await folderField.getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#f-folder-folder_path-error').innerText(), /must be an existing directory/);
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Photos', 'the form keeps what was typed');
    await shot('source-new-error');
    assertConsoleClean(400);

    await folderField.fill(photosDir);
    await page.getByRole('button', { name: 'Create Source' }).click();
    await page.waitForURL(/\/dashboard\/sources\/[0-9a-f]{24}$/);
    assert.match(await page.getByRole('status').innerText(), /Source “Photos” created/);
    const id = await page.locator('#source-id').innerText();
    assert.match(id, /^[0-9a-f]{24}$/);
    assert.match(await page.locator('#secure-token').innerText(), /^[0-9a-f]{32}$/);
    await shot('source-edit', { phone: true });

    await visit('/dashboard/sources');
    const row = page.locator(`tr[data-source-id="${id}"]`);
    assert.match(await row.innerText(), /Photos/);
    assert.equal(await row.locator('code.source-id').innerText(), id);
    assert.deepEqual(await row.locator('ul.domains li').allInnerTexts(), ['photos.example.test', 'pics.example.test']);
    assert.match(await page.locator(`tr[data-source-id="${t.defaultSourceId}"]`).innerText(), /localhost/);
    await shot('sources', { phone: true });

    // The same Source through the JSON:API.
    const apiSource = (await (await api(`/api/v1/sources/${id}`, t.apiKey)).json()) as any;
    assert.equal(apiSource.data.attributes.deployment.folder_path, photosDir);
    assert.equal(apiSource.data.attributes.deployment.secure_url_enabled, true);

    // Edit: a TTL change, then disable and enable again.
    await page.goto(`${t.adminUrl}/dashboard/sources/${id}`);
    await page.getByLabel('Cache TTL (seconds)').fill('3600');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('status').filter({ hasText: 'Changes saved.' }).waitFor();
    assert.equal(await page.getByLabel('Cache TTL (seconds)').inputValue(), '3600');
    await page.getByRole('button', { name: 'Disable Photos' }).click();
    await page.waitForURL(new RegExp(`/dashboard/sources/${id}/enabled$`));
    assert.match(await page.locator('main').innerText(), /Disable the Source “Photos”/);
    assert.equal(((await (await api(`/api/v1/sources/${id}`, t.apiKey)).json()) as any).data.attributes.enabled, true, 'nothing changed before the confirmation');
    await shot('source-disable-confirm');
    await page.getByRole('button', { name: 'Disable the Source' }).click();
    await page.getByRole('status').filter({ hasText: 'Source “Photos” disabled.' }).waitFor();
    assert.equal(((await (await api(`/api/v1/sources/${id}`, t.apiKey)).json()) as any).data.attributes.enabled, false);
    await page.getByRole('button', { name: 'Enable Photos' }).click();
    await page.getByRole('status').filter({ hasText: 'Source “Photos” enabled.' }).waitFor();
    assertConsoleClean();
  });

  it('previews an asset: the image and its URL (signed when the Source requires it)', async () => {
    await visit('/dashboard/preview');
    await page.getByLabel('Asset path').fill('/image file.jpg');
    await page.getByLabel('Width (w)').fill('40');
    await page.getByLabel('Format (fm)').selectOption('png');
    await page.getByLabel('More parameters').fill('sat=-100');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/dashboard\/preview\?/);
    assert.equal(await page.locator('[data-preview-url]').innerText(), `${t.renderUrl}/image%20file.jpg?w=40&fm=png&sat=-100`);
    const image = page.locator('[data-preview-image]');
    await image.waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-preview-image]') as HTMLImageElement | null)?.complete);
    assert.equal(await image.evaluate((element) => (element as HTMLImageElement).naturalWidth), 40);
    await shot('preview', { phone: true });
    assertConsoleClean();

    // A Source with secure URLs, served on its own domain: signed, and shown through the render listener.
    const photos = (await (await api('/api/v1/sources?filter[name]=Photos', t.apiKey)).json()) as any;
    const id = photos.data[0].id as string;
    await visit(`/dashboard/preview?source=${id}&path=%2Fdog.jpg&w=32`);
    const url = await page.locator('[data-preview-url]').innerText();
    assert.match(url, /^http:\/\/photos\.example\.test\/dog\.jpg\?w=32&s=[0-9a-f]{32}$/);
    await page.waitForFunction(() => (document.querySelector('[data-preview-image]') as HTMLImageElement | null)?.complete);
    assert.equal(await page.locator('[data-preview-image]').evaluate((element) => (element as HTMLImageElement).naturalWidth), 32);
    // The signed URL is one the render listener accepts as it is.
    const target = url.slice('http://photos.example.test'.length);
    assert.equal((await rawGet(t.renderPort, target, { host: 'photos.example.test' })).status, 200);
    assert.equal((await rawGet(t.renderPort, target.replace('w=32', 'w=33'), { host: 'photos.example.test' })).status, 403, 'and only as signed');
    await shot('preview-signed');
    assertConsoleClean();
  });

  it('browses the assets served so far, and refreshes one after its file was replaced', async () => {
    assert.equal((await rawGet(t.renderPort, '/image+file.jpg?w=20')).status, 200);
    await t.put('image+file.jpg', await solidImage(80, 60, [220, 220, 0]));
    const row = page.locator('tr[data-asset-path="/image%2Bfile.jpg"]');
    for (let attempt = 0; attempt < 50 && (await row.count()) === 0; attempt++) {
      await visit('/dashboard/asset-manager'); // indexed in the background once served
      if ((await row.count()) === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(await row.innerText(), /image[\s\S]*80 × 60 px/);
    assert.match(await page.locator('tr[data-asset-path="/image%20file.jpg"]').innerText(), /image\/jpeg/);
    await shot('assets', { phone: true });

    await page.getByRole('button', { name: 'Refresh /image%2Bfile.jpg' }).click();
    await page.waitForURL(/\/dashboard\/asset-manager\?source=/);
    assert.match(await page.getByRole('status').innerText(), /Refreshed \/image%2Bfile\.jpg/);
    const [red, green, blue] = await meanColour((await rawGet(t.renderPort, '/image+file.jpg?w=20')).body);
    assert.ok(red > 180 && green > 180 && blue < 60, 'the new file is served');
    assertConsoleClean();
  });

  it('revokes a key after a confirmation; the API then refuses it (401)', async () => {
    await visit('/dashboard/keys');
    await page.getByRole('link', { name: 'Revoke CI purge only' }).click();
    assert.match(await page.locator('main').innerText(), /Revoke the API key “CI purge only”/);
    await shot('keys-revoke-confirm');
    await page.getByRole('button', { name: 'Revoke key' }).click();
    await page.waitForURL(/\/dashboard\/keys$/);
    assert.match(await page.getByRole('status').innerText(), /is revoked/);
    assert.match(await page.locator('table.keys tbody tr', { hasText: 'CI purge only' }).innerText(), /Revoked/);
    await shot('keys', { phone: true });
    const refused = await api('/api/v1/purge', purgeOnlyKey, {
      method: 'POST',
      body: JSON.stringify({ data: { type: 'purges', attributes: { url: `${t.renderUrl}/image%20file.jpg` } } }),
    });
    assert.equal(refused.status, 401);
    assertConsoleClean();
  });

  it('lines up the Actions column at desktop width, and keeps badges and timestamps in the value column at phone width', async () => {
    /** Per row of the table: the bottom edge of each cell (its bottom border), in CSS pixels. */
    const cellBottoms = (table: string) =>
      page.locator(`${table} tbody tr`).evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => cell.getBoundingClientRect().bottom)));
    /**
     * Where each element lies against its cell's label column (the cell's `::before`, at its padding edge):
     * the value column starts past the label's right edge.
     */
    const besideLabels = (selector: string) =>
      page.locator(selector).evaluateAll((elements) =>
        elements.map((element) => {
          const cell = element.closest('td')!;
          const box = cell.getBoundingClientRect();
          const style = getComputedStyle(cell);
          const label = getComputedStyle(cell, '::before');
          const labelRight = box.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft) + parseFloat(label.marginLeft) + parseFloat(label.width);
          const own = element.getBoundingClientRect();
          return { text: element.textContent, left: own.left, right: own.right, labelRight, cellRight: box.right };
        }),
      );

    for (const [pathname, table, inValueColumn, name] of [
      ['/dashboard/keys', 'table.keys', 'table.keys td[data-label="State"] time, table.keys td[data-label="State"] .status', 'layout-keys'],
      ['/dashboard/sources', 'table.sources', 'table.sources .tag', 'layout-sources'],
    ] as const) {
      await visit(pathname);
      const rows = await cellBottoms(table);
      assert.ok(rows.length >= 2, `${table}: rows to compare`);
      for (const bottoms of rows) {
        assert.ok(Math.max(...bottoms) - Math.min(...bottoms) < 0.5, `${table}: every cell of a row ends on the same line at desktop width (${bottoms.join(', ')})`);
      }
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

      await page.setViewportSize(PHONE);
      const placed = await besideLabels(inValueColumn);
      assert.ok(placed.length >= 2, `${table}: badges or timestamps to check`);
      for (const box of placed) {
        assert.ok(box.left >= box.labelRight, `${table}: "${box.text}" starts at x=${box.left}, right of the label column (${box.labelRight})`);
        assert.ok(box.right <= box.cellRight + 0.5, `${table}: "${box.text}" stays inside its cell`);
      }
      await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
      await page.setViewportSize(LAPTOP);
    }
    // The cases the phone layout had wrong: a revoked key's timestamp, and both badges of a Source.
    await visit('/dashboard/keys');
    assert.ok((await page.locator('table.keys td[data-label="State"] time').count()) >= 1, 'a revoked key with its timestamp');
    await visit('/dashboard/sources');
    assert.deepEqual(
      [...new Set(await page.locator('table.sources .tag').allInnerTexts())].sort(),
      ['default', 'signed URLs'],
    );
    assertConsoleClean();
  });

  it('signs out: the session is gone, and pages send back to the sign-in', async () => {
    await visit('/dashboard/tools');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/dashboard\/sign-in\?signed_out/);
    assert.match(await page.getByRole('status').innerText(), /You are signed out/);
    await page.goto(`${t.adminUrl}/dashboard/keys`);
    assert.match(page.url(), /\/dashboard\/sign-in\?next=%2Fdashboard%2Fkeys$/);
    assertConsoleClean();
  });

  it('holds back a new browser after failed sign-ins from its address, and says so; the browser that signed in before is not affected', async () => {
    const strangerContext = await browser.newContext({ viewport: LAPTOP });
    await strangerContext.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort()));
    try {
      const stranger = await strangerContext.newPage();
      await stranger.goto(`${t.adminUrl}/dashboard/sign-in`);
      let status = 0;
      // Five failures are free; then each further attempt waits, from 1 second up (real time here, so try a few more).
      for (let attempt = 0; attempt < 10 && status !== 429; attempt++) {
        await stranger.getByLabel('User name').fill('admin');
        await stranger.getByLabel('Password').fill('still-not-the-password');
        const response = stranger.waitForResponse((candidate) => candidate.request().method() === 'POST');
        await stranger.getByRole('button', { name: 'Sign in' }).click();
        status = (await response).status();
        await stranger.waitForLoadState('load');
      }
      assert.equal(status, 429);
      assert.match(
        await stranger.getByRole('alert').innerText(),
        /Too many failed sign-ins from your address\. Wait \d+ seconds?, then try again\. A browser that has signed in to this account before is not affected: it can sign in now\./,
      );
      await stranger.screenshot({ path: path.join(SCREENSHOTS, 'sign-in-rate-limited.png'), fullPage: true });
    } finally {
      await strangerContext.close();
    }

    // The admin's browser (signed out above, its device cookie kept) signs in at once, from the same address.
    await visit('/dashboard/sign-in');
    await signIn(t.adminPassword);
    assert.match(page.url(), /\/dashboard\/tools$/);
    assertConsoleClean();
  });
});
