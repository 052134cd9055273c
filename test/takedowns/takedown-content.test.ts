import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiKeys } from '../../src/auth/api-keys.ts';
import { openStores } from '../../src/store/open-stores.ts';
import { eventually, rawGet, solidImage, startPictor, type RawResponse, type TestPictor } from '../helpers/pictor.ts';
import { makeClip } from '../helpers/video.ts';

const RED: [number, number, number] = [220, 0, 0];
const BLUE: [number, number, number] = [0, 0, 220];
const GREEN: [number, number, number] = [0, 200, 0];
/** The domain of a second Source on the same folder, made with a key that may only manage Sources. */
const MIRROR = 'mirror.example';

interface Doc {
  data?: any;
  errors?: { detail: string }[];
}

/** A Pictor whose folder is also served by a second Source, on another domain, created by a `sources`-only key. */
async function startWithMirror(assets: Record<string, Buffer>, options: Record<string, string> = {}): Promise<TestPictor> {
  const t = await startPictor({ assets, options: { publicUrl: 'https://images.example.com', ...options } });
  const stores = await openStores({ dataDir: t.dataDir });
  let key: string;
  try {
    key = (await new ApiKeys(stores.apiKeys).create('sources only', ['sources'])).key;
  } finally {
    await stores.close();
  }
  const deployment = { type: 'folder', folder_path: t.assetsDir, custom_domains: [MIRROR] };
  const created = await call(t, 'POST', '/api/v1/sources', { data: { type: 'sources', attributes: { name: 'mirror', deployment } } }, key);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return t;
}

async function call(t: TestPictor, method: string, urlPath: string, body?: unknown, key = t.apiKey): Promise<{ status: number; body: Doc }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/vnd.api+json';
  const response = await fetch(`${t.adminUrl}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Doc) };
}

async function takedown(t: TestPictor, assetPath: string): Promise<Doc['data']> {
  const attributes = { url: `${t.renderUrl}${assetPath}`, reason: 'DMCA notice 88' };
  const created = await call(t, 'POST', '/api/v1/takedowns', { data: { type: 'takedowns', attributes } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.data;
}

async function lift(t: TestPictor, id: string): Promise<void> {
  assert.equal((await call(t, 'DELETE', `/api/v1/takedowns/${id}`)).status, 200);
}

/** A request on the default Source (`host` undefined) or another domain. */
function get(t: TestPictor, host: string | undefined, target: string): Promise<RawResponse> {
  return rawGet(t.renderPort, target, host === undefined ? {} : { host });
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Asks until the Video API has processed the video (no longer 423), for at most a minute. */
async function processed(t: TestPictor, host: string | undefined, target: string): Promise<RawResponse> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const response = await get(t, host, target);
    if (response.status !== 423 || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('Takedowns follow the content: every Source, domain, symlink, copy, sub-image and video output', { timeout: 240_000 }, () => {
  let t: TestPictor;
  let red: Buffer;
  let clip: Buffer;
  before(async () => {
    red = await solidImage(80, 60, RED);
    clip = await makeClip({ width: 160, height: 120, seconds: 1 });
    t = await startWithMirror({
      'taken.jpg': red,
      'copy.jpg': red,
      'base.jpg': await solidImage(120, 90, BLUE),
      'other.jpg': await solidImage(40, 30, GREEN),
      'clip.mp4': clip,
      'clip-copy.mp4': clip,
    });
    await fs.symlink('taken.jpg', path.join(t.assetsDir, 'alias.jpg'));
    await fs.symlink('clip.mp4', path.join(t.assetsDir, 'alias.mp4'));
    await fs.symlink('other.jpg', path.join(t.assetsDir, 'pointer.jpg'));
  });
  after(() => t?.stop());

  /** Image requests that reach taken.jpg's file or bytes by another way than its own URL, [host, target]. */
  const images: [string | undefined, string][] = [
    [MIRROR, '/taken.jpg'],
    [MIRROR, '/taken.jpg?w=40'],
    [undefined, '/alias.jpg?w=30'],
    [MIRROR, '/alias.jpg'],
    [undefined, '/copy.jpg'],
    [MIRROR, '/copy.jpg?w=20&fm=png'],
    [undefined, '/base.jpg?mark=/alias.jpg&mark-w=20'],
    [undefined, '/base.jpg?blend=/copy.jpg'],
    [undefined, '/base.jpg?mask=/alias.jpg'],
    [MIRROR, '/base.jpg?mark=/taken.jpg&mark-w=30'],
    [undefined, `/base.jpg?mark=http://${MIRROR}/taken.jpg&mark-w=25`],
  ];

  it('blocks the same file and the same bytes through every way in, cached or not, and lifting restores every one', async () => {
    for (const [host, target] of images) {
      assert.equal((await get(t, host, target)).status, 200, `${host ?? 'default'} ${target}`);
      const hit = await get(t, host, target);
      assert.match(String(hit.headers['cache-status']), /^Pictor; hit; detail=memory/, `${target} is cached before the takedown`);
    }
    // The mirror's video is processed before the takedown; its playlists name renditions and segments.
    const master = await processed(t, MIRROR, '/clip.mp4?fm=hls');
    assert.equal(master.status, 200);
    const variant = master.body.toString().split('\n').find((line) => line.includes('rendition='))!.slice(1);
    const segment = (await get(t, MIRROR, variant)).body.toString().split('\n').find((line) => line.includes('segment='))!.slice(1);
    assert.equal((await get(t, MIRROR, segment)).status, 200);

    const image = await takedown(t, '/taken.jpg');
    assert.equal(image.attributes.origin_object, `folder:${await fs.realpath(t.assetsDir)}/taken.jpg`);
    assert.equal(image.attributes.sha256, sha256(red));
    assert.equal(image.attributes.origin_note, null);
    const video = await takedown(t, '/clip.mp4');
    assert.equal(video.attributes.sha256, sha256(clip));

    const videos: [string | undefined, string][] = [
      [MIRROR, '/clip.mp4?fm=hls'],
      [MIRROR, variant],
      [MIRROR, segment],
      [MIRROR, '/clip.mp4?fm=mp4'],
      [MIRROR, '/clip.mp4?video-generate=thumbnail&w=40'],
      [MIRROR, '/clip.mp4?fm=json'],
      [MIRROR, '/clip.mp4?video-generate=storyboard&video-storyboard-format=json'],
      [MIRROR, '/clip.mp4'],
      [undefined, '/alias.mp4?fm=hls'],
      [undefined, '/clip-copy.mp4?fm=hls'],
      [MIRROR, '/clip-copy.mp4?fm=mp4'],
      [undefined, '/clip-copy.mp4'],
    ];
    const uncached: [string | undefined, string][] = [[MIRROR, '/taken.jpg?w=41'], [undefined, '/alias.jpg'], [MIRROR, '/base.jpg?blend=/copy.jpg']];
    const blocked = [...images, ...uncached, ...videos];
    for (const [host, target] of blocked) {
      const response = await get(t, host, target);
      assert.equal(response.status, 451, `${host ?? 'default'} ${target}: ${response.body.toString().slice(0, 200)}`);
      assert.equal(response.headers['cache-control'], 'no-store', target);
      assert.equal(response.headers.link, '<https://images.example.com/>; rel="blocked-by"', target);
    }
    // Other content, on either Source, is untouched.
    for (const [host, target] of [[MIRROR, '/base.jpg'], [MIRROR, '/other.jpg?w=10'], [undefined, '/base.jpg?mark=/other.jpg']] as const) {
      assert.equal((await get(t, host, target)).status, 200, target);
    }

    await lift(t, image.id);
    await lift(t, video.id);
    for (const [host, target] of [...images, [MIRROR, '/taken.jpg?w=41'], [undefined, '/alias.jpg']] as const) {
      assert.equal((await get(t, host, target)).status, 200, `${host ?? 'default'} ${target} after the lift`);
    }
    for (const [host, target] of videos) {
      assert.equal((await processed(t, host, target)).status, 200, `${host ?? 'default'} ${target} after the lift`);
    }
  });

  it('records what the origin has; a file it lacks is recorded by its object, said in the document, and blocked once it appears', async () => {
    const pointer = await takedown(t, '/pointer.jpg');
    assert.equal(pointer.attributes.origin_object, `folder:${await fs.realpath(t.assetsDir)}/other.jpg`, 'a symlink is recorded as its target');
    assert.equal((await get(t, MIRROR, '/other.jpg?w=12')).status, 451);
    await lift(t, pointer.id);

    const later = await takedown(t, '/later.jpg');
    assert.equal(later.attributes.sha256, null);
    assert.equal(later.attributes.origin_object, `folder:${await fs.realpath(t.assetsDir)}/later.jpg`);
    assert.match(later.attributes.origin_note, /The origin had no such file when the takedown was created: this path and the origin object it names/);
    const read = await call(t, 'GET', `/api/v1/takedowns/${later.id}`);
    assert.equal(read.body.data.attributes.origin_note, later.attributes.origin_note);

    await t.put('later.jpg', await solidImage(30, 30, GREEN));
    await fs.symlink('later.jpg', path.join(t.assetsDir, 'later-alias.jpg'));
    const ways = [
      [undefined, '/later.jpg'],
      [MIRROR, '/later.jpg?w=10'],
      [MIRROR, '/later-alias.jpg'],
      [undefined, '/base.jpg?mark=/later-alias.jpg'],
    ] as const;
    for (const [host, target] of ways) {
      assert.equal((await get(t, host, target)).status, 451, `${host ?? 'default'} ${target}`);
    }
    await lift(t, later.id);
    assert.equal((await get(t, MIRROR, '/later-alias.jpg')).status, 200);
  });
});

describe('Takedowns follow the content into the disk tier', { timeout: 60_000 }, () => {
  let t: TestPictor;
  before(async () => {
    const red = await solidImage(60, 40, RED);
    // No derivative fits the memory tier: every hit is a disk hit.
    t = await startWithMirror({ 'taken.jpg': red, 'copy.jpg': red }, { memoryCacheBytes: '1' });
  });
  after(() => t?.stop());

  it('a disk hit built from the content on another Source before the takedown answers 451, and is served again after the lift', async () => {
    const targets: [string | undefined, string][] = [[MIRROR, '/copy.jpg?w=30'], [MIRROR, '/taken.jpg?w=20'], [undefined, '/copy.jpg?w=10']];
    for (const [host, target] of targets) {
      assert.equal((await get(t, host, target)).status, 200);
      await eventually(async () => /detail=disk/.test(String((await get(t, host, target)).headers['cache-status'])));
    }
    const image = await takedown(t, '/taken.jpg');
    for (const [host, target] of targets) assert.equal((await get(t, host, target)).status, 451, target);
    await lift(t, image.id);
    const served = await get(t, MIRROR, '/copy.jpg?w=30');
    assert.equal(served.status, 200);
    assert.match(String(served.headers['cache-status']), /detail=disk/, 'the entry was kept: the lift restores it');
  });
});
