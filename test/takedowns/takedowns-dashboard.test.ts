import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { DashboardClient } from '../dashboard/http-client.ts';

describe('dashboard: Tools → Takedown', () => {
  let t: TestPictor;
  let client: DashboardClient;
  before(async () => {
    t = await startPictor({ assets: { 'notice me.jpg': await solidImage(30, 20, [200, 10, 10]) } });
    client = new DashboardClient(t.adminUrl);
    assert.equal((await client.signIn('admin', t.adminPassword)).status, 303);
  });
  after(() => t.stop());

  const activeTakedowns = async (): Promise<any[]> => {
    const response = await fetch(`${t.adminUrl}/api/v1/takedowns?filter[status]=active`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    return ((await response.json()) as any).data;
  };

  it('a form without its CSRF token changes nothing', async () => {
    const refused = await client.post('/dashboard/tools/takedown', { takedown_url: `${t.renderUrl}/notice%20me.jpg`, reason: 'x', confirm: 'yes' });
    assert.equal(refused.status, 403);
    assert.deepEqual(await activeTakedowns(), []);
  });

  it('bad input is shown next to its field on the Tools page', async () => {
    const csrf = await client.csrf();
    const noReason = await client.post('/dashboard/tools/takedown', { _csrf: csrf, takedown_url: `${t.renderUrl}/notice%20me.jpg`, reason: ' ' });
    assert.equal(noReason.status, 400);
    assert.match(noReason.text, /id="f-reason-error">&quot;reason&quot; is required/);
    const elsewhere = await client.post('/dashboard/tools/takedown', { _csrf: csrf, takedown_url: 'https://elsewhere.example.org/a.jpg', reason: 'x' });
    assert.equal(elsewhere.status, 400);
    assert.match(elsewhere.text, /id="f-takedown_url-error">The host &quot;elsewhere.example.org&quot; is not a domain of any Source/);
    assert.deepEqual(await activeTakedowns(), []);
  });

  it('takes down after a confirmation step, lists it, and lifts it after another', async () => {
    const csrf = await client.csrf();
    const review = await client.post('/dashboard/tools/takedown', { _csrf: csrf, takedown_url: `${t.renderUrl}/notice me.jpg?w=10`, reason: 'DMCA <notice> 42' });
    assert.equal(review.status, 200);
    assert.match(review.text, /Take down <code class="wrap">\/notice%20me\.jpg<\/code> of the Source <strong>default<\/strong>\?/);
    assert.match(review.text, /Reason: DMCA &lt;notice&gt; 42/);
    assert.match(review.text, /name="confirm" value="yes"/);
    assert.deepEqual(await activeTakedowns(), [], 'nothing recorded before the confirmation');
    assert.equal((await rawGet(t.renderPort, '/notice%20me.jpg')).status, 200);

    const confirmed = await client.post('/dashboard/tools/takedown', {
      _csrf: DashboardClient.csrfOf(review.text),
      takedown_url: /name="takedown_url" value="([^"]+)"/.exec(review.text)![1]!,
      reason: 'DMCA <notice> 42',
      confirm: 'yes',
    });
    assert.equal(confirmed.status, 303);
    assert.equal(confirmed.location, '/dashboard/tools#takedown');
    assert.equal((await rawGet(t.renderPort, '/notice%20me.jpg?w=5')).status, 451);
    const [active] = await activeTakedowns();
    assert.equal(active.attributes.created_by, 'user:admin');
    assert.equal(active.attributes.reason, 'DMCA <notice> 42');

    const tools = await client.get('/dashboard/tools');
    assert.match(tools.text, /is taken down: it answers 451/);
    assert.match(tools.text, new RegExp(`data-takedown-id="${active.id}"`));
    const sha = active.attributes.sha256 as string;
    assert.match(tools.text, new RegExp(`Content: SHA-256 <code title="${sha}">${sha.slice(0, 12)}…</code>`), 'what it recorded of the content');
    const liftHref = `/dashboard/tools/takedowns/${active.id}/lift`;
    assert.ok(tools.text.includes(`href="${liftHref}"`));

    const liftPage = await client.get(liftHref);
    assert.equal(liftPage.status, 200);
    assert.match(liftPage.text, /Lift the takedown of/);
    assert.equal((await rawGet(t.renderPort, '/notice%20me.jpg')).status, 451, 'the page alone lifts nothing');
    const lifted = await client.post(liftHref, { _csrf: DashboardClient.csrfOf(liftPage.text), reason: 'withdrawn' });
    assert.equal(lifted.status, 303);
    assert.equal((await rawGet(t.renderPort, '/notice%20me.jpg')).status, 200);
    assert.deepEqual(await activeTakedowns(), []);
    const audit = await fetch(`${t.adminUrl}/api/v1/takedowns/${active.id}`, { headers: { authorization: `Bearer ${t.apiKey}` } });
    assert.deepEqual(
      ((await audit.json()) as any).data.attributes.audit.map((entry: any) => [entry.action, entry.actor, entry.reason]),
      [
        ['created', 'user:admin', 'DMCA <notice> 42'],
        ['lifted', 'user:admin', 'withdrawn'],
      ],
    );
    assert.match((await client.get('/dashboard/tools')).text, /No asset is taken down/);
  });
});
