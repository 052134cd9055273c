import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { eventually, rawGet, solidImage, startPictor, type TestPictor } from '../helpers/pictor.ts';
import { apiCaller, createKey, type ApiResponse } from './client.ts';

/**
 * The Assets API against a real server: assets indexed as they are first served, or added; listing with
 * cursor paging, filters and sorts; reading, and editing what people say about an asset; permissions.
 */
describe('Assets API', () => {
  let t: TestPictor;
  let call: ReturnType<typeof apiCaller>;
  let base: string;
  const keys = { browse: '', edit: '', purge: '' };

  before(async () => {
    // A JPEG with EXIF orientation 6 (rotated): its dimensions are reported as displayed.
    const rotated = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#08f' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    t = await startPictor({
      assets: {
        'red.jpg': await solidImage(40, 30, [255, 0, 0]),
        'photos/a.png': await solidImage(10, 10, [0, 255, 0], 'png'),
        'photos/b.jpg': await solidImage(20, 10, [0, 0, 255]),
        'photos/deep/c.jpg': await solidImage(5, 5, [9, 9, 9]),
        'photo album/d e.jpg': await solidImage(6, 4, [1, 2, 3]),
        'rotated.jpg': rotated,
        'clip.mp4': Buffer.from('not really a video, but named as one'),
        'notes.txt': 'hello',
      },
    });
    call = apiCaller(t);
    base = `/api/v1/sources/${t.defaultSourceId}/assets`;
    keys.browse = await createKey(t, ['assets-browse']);
    keys.edit = await createKey(t, ['assets-edit']);
    keys.purge = await createKey(t, ['purge']);
  });
  after(async () => {
    await t?.stop();
  });

  const get = (path: string, key = t.apiKey): Promise<ApiResponse> => call('GET', `${base}${path}`, key);
  /** Asks the render listener for it, which indexes it whatever the answer (a file that is no media is 415). */
  const served = async (path: string, status = 200): Promise<void> => {
    assert.equal((await rawGet(t.renderPort, path)).status, status, path);
  };

  it('indexes an asset when it is first served: kind, dimensions as displayed, size, type, dates', async () => {
    assert.equal((await get('/red.jpg')).status, 404, 'not served yet');
    const before = Math.floor(Date.now() / 1000);
    await served('/red.jpg?w=10');
    await eventually(async () => (await get('/red.jpg')).status === 200);
    const { body } = await get('/red.jpg');
    assert.equal(body.data.type, 'assets');
    assert.equal(body.data.id, `${t.defaultSourceId}/red.jpg`);
    const attributes = body.data.attributes;
    assert.equal(attributes.origin_path, '/red.jpg');
    assert.equal(attributes.source_id, t.defaultSourceId);
    assert.equal(attributes.media_kind, 'IMAGE');
    assert.equal(attributes.media_width, 40);
    assert.equal(attributes.media_height, 30);
    assert.equal(attributes.content_type, 'image/jpeg');
    assert.equal(attributes.file_size, (await solidImage(40, 30, [255, 0, 0])).length);
    assert.ok(attributes.date_created >= before && attributes.date_created <= Math.ceil(Date.now() / 1000));
    assert.equal(attributes.date_modified, attributes.date_created);
    assert.deepEqual([attributes.name, attributes.description, attributes.tags, attributes.categories, attributes.custom_fields, attributes.video_status], [null, null, [], [], {}, null]);

    await served('/rotated.jpg');
    await served('/clip.mp4', 415);
    await served('/notes.txt', 415);
    await eventually(async () => (await get('/notes.txt')).status === 200);
    assert.deepEqual([(await get('/rotated.jpg')).body.data.attributes.media_width, (await get('/rotated.jpg')).body.data.attributes.media_height], [20, 30]);
    const clip = (await get('/clip.mp4')).body.data.attributes;
    assert.deepEqual([clip.media_kind, clip.content_type, clip.media_width], ['VIDEO', 'video/mp4', null]);
    assert.equal((await get('/notes.txt')).body.data.attributes.media_kind, 'OTHER');
  });

  it('adds an asset from its origin (202); one the origin lacks is 404', async () => {
    const added = await call('POST', `${base}/add/photos/a.png`, t.apiKey);
    assert.equal(added.status, 202, JSON.stringify(added.body));
    assert.equal(added.body.data.attributes.origin_path, '/photos/a.png');
    assert.equal(added.body.data.attributes.media_width, 10);
    for (const path of ['/photos/b.jpg', '/photos/deep/c.jpg', '/photo%20album/d%20e.jpg']) assert.equal((await call('POST', `${base}/add${path}`, t.apiKey)).status, 202, path);
    const missing = await call('POST', `${base}/add/nope.jpg`, t.apiKey);
    assert.equal(missing.status, 404);
    assert.match(missing.body.errors[0].detail, /\/nope\.jpg is not at the Source's origin/);
    assert.equal((await get('/nope.jpg')).status, 404);
  });

  it('names an asset by its path percent-encoded once, slashes plain or as %2F', async () => {
    for (const path of ['/photo%20album/d%20e.jpg', '/photo album/d e.jpg', '/%2Fphoto%20album%2Fd%20e.jpg']) {
      const { status, body } = await get(path);
      assert.equal(status, 200, path);
      assert.equal(body.data.attributes.origin_path, '/photo%20album/d%20e.jpg');
    }
    const escape = await get('/photos%2F..%2Fred.jpg');
    assert.equal(escape.status, 400);
    assert.equal((await call('GET', `/api/v1/sources/${'f'.repeat(24)}/assets/red.jpg`, t.apiKey)).status, 404);
  });

  it('lists a page at a time with a cursor, newest first by default; filters by folder, exact path and kind; sorts', async () => {
    const paths = async (query: string): Promise<string[][]> => {
      const pages: string[][] = [];
      let url: string | null = `${base}?${query}`;
      while (url !== null) {
        const { status, body } = await call('GET', url, keys.browse);
        assert.equal(status, 200, `${url}: ${JSON.stringify(body)}`);
        pages.push(body.data.map((asset: { attributes: { origin_path: string } }) => asset.attributes.origin_path));
        assert.equal(body.meta.cursor.hasMore, body.links.next !== null);
        url = body.links.next === null ? null : body.links.next.slice(t.adminUrl.length);
        if (url !== null) assert.ok(body.links.next.startsWith(`${t.adminUrl}${base}?`), body.links.next);
        assert.ok(pages.length < 20);
      }
      return pages;
    };
    const all = (await paths('sort=origin_path&page[size]=3')).flat();
    assert.deepEqual(all, ['/clip.mp4', '/notes.txt', '/photo%20album/d%20e.jpg', '/photos/a.png', '/photos/b.jpg', '/photos/deep/c.jpg', '/red.jpg', '/rotated.jpg']);
    assert.deepEqual(await paths('sort=origin_path&page[size]=3'), [all.slice(0, 3), all.slice(3, 6), all.slice(6)]);
    assert.deepEqual((await paths('sort=-origin_path&page[size]=5')).flat(), [...all].reverse());
    assert.deepEqual((await paths('filter[origin_path]=/photos/&sort=origin_path')).flat(), ['/photos/a.png', '/photos/b.jpg', '/photos/deep/c.jpg']);
    assert.deepEqual((await paths('filter[origin_path]=/photos/b.jpg')).flat(), ['/photos/b.jpg']);
    assert.deepEqual((await paths('filter[media_kind]=video')).flat(), ['/clip.mp4']);
    assert.deepEqual((await paths('filter[origin_path]=/photos/&filter[media_kind]=IMAGE&sort=-file_size&page[size]=1')).length, 3);
    const bySize = (await paths('sort=file_size&page[size]=2')).flat();
    assert.equal(bySize[0], '/notes.txt', 'the smallest first');
    assert.equal(bySize.length, all.length);
    const newest = await call('GET', base, keys.browse);
    assert.equal(newest.body.data.length, all.length);
    const created = newest.body.data.map((asset: { attributes: { date_created: number } }) => asset.attributes.date_created);
    assert.deepEqual(created, [...created].sort((a: number, b: number) => b - a));
  });

  it('refuses a bad list query with a 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['page[size]=0', /"page\[size\]" must be a whole number from 1 to 100/],
      ['page[size]=101', /from 1 to 100/],
      ['sort=name', /"sort" takes one of date_created, date_modified, file_size, origin_path/],
      ['filter[media_kind]=AUDIO', /"filter\[media_kind\]" must be one of IMAGE, VIDEO, OTHER/],
      ['filter[tags]=x', /Unknown query parameter "filter\[tags\]"/],
      ['page[cursor]=garbage!', /is not a cursor this API gave/],
      ['filter[origin_path]=/a/%2e%2e/b', /"filter\[origin_path\]": Invalid path/],
    ];
    for (const [query, message] of cases) {
      const { status, body } = await call('GET', `${base}?${query}`, keys.browse);
      assert.equal(status, 400, query);
      assert.match(body.errors[0].detail, message, query);
    }
    const first = await call('GET', `${base}?sort=origin_path&page[size]=1`, keys.browse);
    const other = await call('GET', `${base}?sort=-file_size&page[cursor]=${first.body.meta.cursor.next}`, keys.browse);
    assert.equal(other.status, 400);
    assert.match(other.body.errors[0].detail, /made for sort=origin_path; send it with that sort/);
  });

  it('PATCH changes name, description, tags, categories and custom fields; date_modified moves; read-only attributes are ignored', async () => {
    const before = (await get('/photos/b.jpg')).body.data;
    const patch = {
      data: {
        type: 'assets',
        id: `${t.defaultSourceId}/photos/b.jpg`,
        attributes: { ...before.attributes, name: 'Blue', description: 'A blue rectangle', tags: ['blue', 'shape', 'blue'], categories: ['tests'], custom_fields: { shot: 7, by: 'Ann', ok: true, none: null }, media_width: 999 },
      },
    };
    const { status, body } = await call('PATCH', `${base}/photos/b.jpg`, keys.edit, patch);
    assert.equal(status, 200, JSON.stringify(body));
    const attributes = body.data.attributes;
    assert.equal(attributes.name, 'Blue');
    assert.equal(attributes.description, 'A blue rectangle');
    assert.deepEqual(attributes.tags, ['blue', 'shape']);
    assert.deepEqual(attributes.categories, ['tests']);
    assert.deepEqual(attributes.custom_fields, { shot: 7, by: 'Ann', ok: true, none: null });
    assert.equal(attributes.media_width, 20, 'read-only');
    assert.ok(attributes.date_modified >= before.attributes.date_modified);
    assert.deepEqual((await get('/photos/b.jpg')).body.data, body.data);

    const cleared = await call('PATCH', `${base}/photos/b.jpg`, keys.edit, { data: { type: 'assets', attributes: { name: null, tags: [] } } });
    assert.equal(cleared.body.data.attributes.name, null);
    assert.deepEqual(cleared.body.data.attributes.tags, []);
    assert.equal(cleared.body.data.attributes.description, 'A blue rectangle', 'left out: kept');
    assert.equal((await call('PATCH', `${base}/nope.jpg`, keys.edit, { data: { type: 'assets', attributes: { name: 'x' } } })).status, 404);
  });

  it('PATCH refuses bad values with a 400 pointing at the member, and changes nothing', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ name: 5 }, '/data/attributes/name', /"name" must be a string or null, got 5/],
      [{ name: 'x'.repeat(256) }, '/data/attributes/name', /at most 255 characters/],
      [{ description: 'x'.repeat(4097) }, '/data/attributes/description', /at most 4096 characters/],
      [{ tags: 'a,b' }, '/data/attributes/tags', /must be an array of strings/],
      [{ tags: ['ok', ''] }, '/data/attributes/tags/1', /"tags.1" must be a non-empty string/],
      [{ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }, '/data/attributes/tags', /at most 100 items/],
      [{ categories: ['x'.repeat(101)] }, '/data/attributes/categories/0', /at most 100 characters/],
      [{ custom_fields: [] }, '/data/attributes/custom_fields', /must be an object or null, got an array/],
      [{ custom_fields: { deep: { x: 1 } } }, '/data/attributes/custom_fields/deep', /must be a string, a number, true, false or null, got an object/],
      [{ custom_fields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, i])) }, '/data/attributes/custom_fields', /at most 50 fields/],
      [{ custom_fields: { long: 'x'.repeat(1025) } }, '/data/attributes/custom_fields/long', /at most 1024 characters/],
      [{ colour: 'red' }, '/data/attributes/colour', /Unknown attribute "colour"/],
    ];
    for (const [attributes, pointer, message] of cases) {
      const { status, body } = await call('PATCH', `${base}/photos/a.png`, keys.edit, { data: { type: 'assets', attributes } });
      assert.equal(status, 400, JSON.stringify(attributes).slice(0, 80));
      assert.equal(body.errors[0].source.pointer, pointer);
      assert.match(body.errors[0].detail, message);
    }
    const wrongType = await call('PATCH', `${base}/photos/a.png`, keys.edit, { data: { type: 'sources', attributes: {} } });
    assert.equal(wrongType.body.errors[0].source.pointer, '/data/type');
    const wrongId = await call('PATCH', `${base}/photos/a.png`, keys.edit, { data: { type: 'assets', id: 'x/y.png', attributes: {} } });
    assert.equal(wrongId.body.errors[0].source.pointer, '/data/id');
    const unchanged = (await get('/photos/a.png')).body.data.attributes;
    assert.deepEqual([unchanged.name, unchanged.tags, unchanged.custom_fields], [null, [], {}]);
  });

  it('permissions: browse reads, edit also writes (and implies browse), others get 403, no key 401', async () => {
    const patch = { data: { type: 'assets', attributes: { name: 'by edit' } } };
    assert.equal((await get('/photos/a.png', keys.browse)).status, 200);
    assert.equal((await call('GET', base, keys.browse)).status, 200);
    const refused = await call('PATCH', `${base}/photos/a.png`, keys.browse, patch);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.errors[0].detail, 'This API key does not have the assets-edit permission.');
    assert.equal((await call('POST', `${base}/add/photos/a.png`, keys.browse)).status, 403);
    assert.equal((await call('POST', `${base}/refresh/photos/a.png`, keys.browse)).status, 403);
    assert.equal((await call('POST', `/api/v1/sources/${t.defaultSourceId}/upload/new.txt`, keys.browse, Buffer.from('x'), { 'content-type': 'text/plain' })).status, 403);

    assert.equal((await get('/photos/a.png', keys.edit)).status, 200, 'edit implies browse');
    assert.equal((await call('GET', base, keys.edit)).status, 200);
    assert.equal((await call('PATCH', `${base}/photos/a.png`, keys.edit, patch)).status, 200);

    const purgeOnly = await get('/photos/a.png', keys.purge);
    assert.equal(purgeOnly.status, 403);
    assert.equal(purgeOnly.body.errors[0].detail, 'This API key does not have the assets-browse permission.');
    assert.equal((await call('GET', `${base}/photos/a.png`, undefined)).status, 401);
    assert.equal((await call('PATCH', `${base}/photos/a.png`, undefined, patch)).status, 401);
  });

  it('other methods are 405 with Allow', async () => {
    const list = await call('DELETE', base, t.apiKey);
    assert.equal(list.status, 405);
    assert.equal(list.headers.get('allow'), 'GET');
    const one = await call('DELETE', `${base}/photos/a.png`, t.apiKey);
    assert.equal(one.status, 405);
    assert.equal(one.headers.get('allow'), 'GET, PATCH');
  });

  it('shows the Video API\'s state of a video, adding a video not indexed yet', async () => {
    await t.put('later.webm', 'webm bytes');
    await t.pictor.assets!.setVideoStatus(t.defaultSourceId, '/later.webm', 'processing');
    const { status, body } = await get('/later.webm');
    assert.equal(status, 200);
    assert.deepEqual([body.data.attributes.media_kind, body.data.attributes.video_status], ['VIDEO', 'processing']);
    await t.pictor.assets!.setVideoStatus(t.defaultSourceId, '/later.webm', 'processed');
    assert.equal((await get('/later.webm')).body.data.attributes.video_status, 'processed');
    await t.remove('later.webm');
    await t.pictor.assets!.setVideoStatus(t.defaultSourceId, '/later.webm', null);
    await assert.rejects(t.pictor.assets!.setVideoStatus(t.defaultSourceId, '/never.mp4', 'error'), /not at the Source's origin/);
  });
});
