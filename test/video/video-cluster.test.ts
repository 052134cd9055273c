/**
 * Video on a cluster: three `pictor serve` processes sharing one PostgreSQL and one S3-compatible video
 * store (s3rver). A video is encoded once for the whole cluster, every node serves the same stored outputs,
 * a master playlist answered 200 anywhere is followed by variants and segments answered 200 everywhere,
 * and a killed encoder's video is taken over by another node once its claim's lease has run out.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { VideoFiles } from '../../src/video/video-files.ts';
import { startCluster, type TestCluster } from '../helpers/cluster.ts';
import { S3RVER_KEY, startBucket, type TestBucket } from '../helpers/s3-bucket.ts';
import { makeClip } from '../helpers/video.ts';
import { childrenOf } from '../helpers/pids.ts';

interface VideoRow {
  state: string;
  version: number;
  encodes: number;
  claim_node: string | null;
}

/** The URIs of a playlist (its lines that are not tags). */
function uris(playlist: string): string[] {
  return playlist.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Video on a cluster of three nodes sharing PostgreSQL and an S3 video store', { timeout: 600_000 }, () => {
  let bucket: TestBucket;
  let cluster: TestCluster;
  let pool: pg.Pool;

  before(async () => {
    bucket = await startBucket('videos');
    try {
      cluster = await startCluster({
        nodes: 3,
        edges: 0,
        lease: 2,
        assets: {
          'once.mp4': await makeClip({ width: 640, height: 360, seconds: 6 }),
          'crash.mp4': await makeClip({ width: 1280, height: 720, seconds: 12 }),
        },
        extraArgs: ['--video-store', 's3://videos/outputs', '--video-store-endpoint', bucket.endpoint],
        env: { PICTOR_VIDEO_STORE_ACCESS_KEY_ID: S3RVER_KEY, PICTOR_VIDEO_STORE_SECRET_ACCESS_KEY: S3RVER_KEY },
      });
    } catch (error) {
      await bucket.stop();
      throw error;
    }
    pool = new pg.Pool({ connectionString: cluster.databaseUrl, max: 2 });
  });
  after(async () => {
    await pool?.end();
    await cluster?.stop();
    await bucket?.stop();
  });

  const url = (node: number, name: string, query = 'fm=hls') => `${cluster.nodes[node]!.renderUrl}/${name}?${query}`;
  const row = async (name: string): Promise<VideoRow | undefined> =>
    (await pool.query<VideoRow>('SELECT state, version, encodes, claim_node FROM videos WHERE path = $1', [`/${name}`])).rows[0];

  /** Asks the nodes in turn, as a round-robin edge does, until one answers the master playlist 200. */
  async function firstMaster(name: string, nodes: readonly number[]): Promise<string> {
    const deadline = Date.now() + 240_000; // only a bound on the wait for the encode
    for (let i = 0; ; i++) {
      const response = await fetch(url(nodes[i % nodes.length]!, name));
      if (response.status === 200) return response.text();
      assert.equal(response.status, 423, await response.text());
      await response.arrayBuffer().catch(() => {});
      if (Date.now() > deadline) throw new Error(`${name} still processing`);
      await sleep(100);
    }
  }

  /** Every variant playlist and every segment of a master, from every node given: [status, sha256] of each. */
  async function everyOutput(name: string, master: string, nodes: readonly number[]): Promise<Map<string, string>> {
    const seen = new Map<string, string>();
    for (const node of nodes) {
      const base = url(node, name);
      for (const variant of uris(master)) {
        const variantUrl = new URL(variant, base);
        const response = await fetch(variantUrl);
        assert.equal(response.status, 200, `variant ${variant} on node ${node + 1}`);
        for (const segment of uris(await response.text())) {
          const segmentResponse = await fetch(new URL(segment, variantUrl));
          assert.equal(segmentResponse.status, 200, `segment ${segment} on node ${node + 1}`);
          const digest = createHash('sha256').update(Buffer.from(await segmentResponse.arrayBuffer())).digest('hex');
          const known = seen.get(segment);
          if (known !== undefined) assert.equal(digest, known, `segment ${segment} is the same on every node`);
          seen.set(segment, digest);
        }
      }
    }
    return seen;
  }

  it('a video asked of all three nodes at once is encoded once, and every node serves the same outputs from the store', async () => {
    const first = await Promise.all([0, 1, 2].map((node) => fetch(url(node, 'once.mp4'))));
    for (const response of first) {
      assert.equal(response.status, 423);
      await response.arrayBuffer();
    }
    const master = await firstMaster('once.mp4', [0, 1, 2]);
    // Straight after the first 200: every variant and segment, on every node (a 423 here stops a player).
    const segments = await everyOutput('once.mp4', master, [0, 1, 2]);
    assert.ok(segments.size > 0);
    for (const node of [0, 1, 2]) assert.equal(await (await fetch(url(node, 'once.mp4'))).text(), master, `node ${node + 1} answers the same master`);
    const record = await row('once.mp4');
    assert.equal(record?.state, 'processed');
    assert.equal(record?.encodes, 1, 'one encode for the whole cluster');
    assert.equal(record?.claim_node, null);
    const stored = await bucket.client.send(new ListObjectsV2Command({ Bucket: 'videos', Prefix: 'outputs/' }));
    assert.ok((stored.Contents ?? []).some((object) => object.Key!.endsWith('/ladder.json')), 'the outputs are in the shared bucket');
    // Made on request by one node, served by another from the store.
    const mp4 = await fetch(url(1, 'once.mp4', 'fm=mp4&res=low'));
    assert.equal(mp4.status, 200);
    const mp4Body = Buffer.from(await mp4.arrayBuffer());
    const ranged = await fetch(url(2, 'once.mp4', 'fm=mp4&res=low'), { headers: { range: 'bytes=10-99' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), mp4Body.subarray(10, 100));
  });

  it('a node killed while encoding: another node takes the video over once the lease runs out, and finishes it', async () => {
    const victim = cluster.nodes[0]!;
    const response = await fetch(url(0, 'crash.mp4'));
    assert.equal(response.status, 423);
    await response.arrayBuffer();
    const deadline = Date.now() + 60_000; // only a bound on the wait for ffmpeg to start
    while (childrenOf(victim.process!.child.pid!).length === 0 && Date.now() < deadline) await sleep(20);
    const encoders = childrenOf(victim.process!.child.pid!);
    assert.ok(encoders.length > 0, 'node-1 runs the encode');
    assert.equal((await row('crash.mp4'))?.claim_node, victim.id);
    victim.process!.child.kill('SIGKILL');
    await victim.process!.exited;
    for (const pid of encoders) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already ended
      }
    }
    const master = await firstMaster('crash.mp4', [1, 2]);
    await everyOutput('crash.mp4', master, [1, 2]);
    const record = await row('crash.mp4');
    assert.equal(record?.state, 'processed');
    assert.equal(record?.version, 1, 'the same version, finished by another node');
    assert.equal(record?.encodes, 2, "the killed node's encode and the one that took it over");
  });

  it('a refresh on one node after the file left its origin deletes the shared outputs once, and every node answers 404', async () => {
    const sources = (await cluster.api('GET', '/api/v1/sources', undefined, 1)).body as { data: { id: string }[] };
    const sourceId = sources.data[0]!.id;
    const master = await (await fetch(url(1, 'once.mp4'))).text();
    const variantUrl = new URL(uris(master)[0]!, url(2, 'once.mp4'));
    const segmentUrl = new URL(uris(await (await fetch(variantUrl)).text())[0]!, variantUrl);
    await fs.rm(path.join(cluster.assetsDir, 'once.mp4'));
    const refreshed = await cluster.api('POST', `/api/v1/sources/${sourceId}/assets/refresh/once.mp4`, undefined, 1);
    // The refresh's answer for a file gone at its origin.
    assert.equal(refreshed.status, 404);
    assert.match(JSON.stringify(refreshed.body), /no longer at the origin/);
    const prefix = `outputs/${new VideoFiles('/unused').assetKey(sourceId, '/once.mp4')}/`;
    const left = await bucket.client.send(new ListObjectsV2Command({ Bucket: 'videos', Prefix: prefix }));
    assert.deepEqual(left.Contents ?? [], [], 'no output of the video is left in the bucket');
    assert.equal(await row('once.mp4'), undefined);
    for (const node of [1, 2]) assert.equal((await fetch(url(node, 'once.mp4'))).status, 404, `node ${node + 1}`);
    assert.equal((await fetch(segmentUrl)).status, 404);
  });
});
