import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NOTHING_THERE_WARNING } from '../../src/purge/purge-warning.ts';
import { DashboardClient } from '../dashboard/http-client.ts';
import { runCli } from '../helpers/cli.ts';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';

/** `pictor purge … --wait`; resolves with the exit code and both outputs, whatever the code. */
const purge = (t: TestPictor, args: string[]) => runCli(['purge', ...args, '--api', t.adminUrl, '--wait'], { env: { PICTOR_API_KEY: t.apiKey } });

const idOf = (line: string): string => /id=(\S+)/.exec(line)![1]!;

describe('a purge of a mistyped path does not look like success', () => {
  let t: TestPictor;
  before(async () => {
    const image = await solidImage(20, 10, [200, 100, 0]);
    t = await startPictor({ assets: { 'sunset.jpg': image, 'photos/a.jpg': image }, options: { purgeRateLimit: '1000' } });
    for (const target of ['/sunset.jpg?w=8', '/sunset.jpg?w=12', '/photos/a.jpg?w=8']) assert.equal((await rawGet(t.renderPort, target)).status, 200);
  });
  after(() => t.stop());

  it('`pictor purge …/sunst.jpg --wait`: matched=0, origin=removed, and a warning on stderr naming the URL (exit 0)', async () => {
    const typo = `${t.renderUrl}/sunst.jpg`;
    const result = await purge(t, [typo]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^completed\s+\S+sunst\.jpg\s+id=\S+\s+origin=removed\s+matched=0\s/);
    assert.ok(result.stderr.includes(`warning: ${typo}: Nothing was cached for this URL and the origin does not have it: check the path (a typo?)`), result.stderr);

    // The status document and the dashboard say the same.
    const id = idOf(result.stdout);
    const status = (await (await fetch(`${t.adminUrl}/api/v1/purges/${id}`, { headers: { authorization: `Bearer ${t.apiKey}` } })).json()) as any;
    assert.equal(status.data.attributes.matched, 0);
    assert.equal(status.meta.pictor.warning, NOTHING_THERE_WARNING);

    const dashboard = new DashboardClient(t.adminUrl);
    assert.equal((await dashboard.signIn('admin', t.adminPassword)).status, 303);
    const summary = JSON.parse((await dashboard.get(`/dashboard/purges/${id}/status`, { accept: 'application/json' })).text) as Record<string, unknown>;
    assert.equal(summary.advice, NOTHING_THERE_WARNING);
    assert.equal(summary.matchedLabel, '0 cached files');
    const page = await dashboard.get(`/dashboard/tools?purge=${id}`);
    assert.match(page.text, /<dt>Removed<\/dt><dd data-field="matchedLabel">0 cached files<\/dd>/);
    assert.ok(page.text.includes('check the path (a typo?)'), 'the advice line on the page');
  });

  it('the right path: how many cached files it removed, and no warning', async () => {
    const result = await purge(t, [`${t.renderUrl}/sunset.jpg`]);
    assert.equal(result.code, 0, result.stderr);
    const matched = Number(/matched=(\d+)/.exec(result.stdout)?.[1]);
    assert.ok(matched >= 2, `the master and two renders were cached: ${result.stdout}`);
    assert.match(result.stdout, /origin=unchanged/);
    assert.ok(!result.stderr.includes('warning'), result.stderr);

    const status = (await (await fetch(`${t.adminUrl}/api/v1/purges/${idOf(result.stdout)}`, { headers: { authorization: `Bearer ${t.apiKey}` } })).json()) as any;
    assert.equal(status.data.attributes.matched, matched);
    assert.equal(status.meta?.pictor?.warning, undefined);
  });

  it('`pictor purge --prefix …/photos/` purges the folder (match "prefix"), not an asset named "photos/"', async () => {
    const result = await purge(t, ['--prefix', `${t.renderUrl}/photos/`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^completed\s/);
    assert.ok(!result.stderr.includes('warning'), result.stderr);
    const status = (await (await fetch(`${t.adminUrl}/api/v1/purges/${idOf(result.stdout)}`, { headers: { authorization: `Bearer ${t.apiKey}` } })).json()) as any;
    assert.equal(status.data.attributes.match, 'prefix');
    assert.equal(status.data.attributes.status, 'completed');
  });
});
