/**
 * Part 4 of `npm run bench:cluster`: video on the cluster. A fresh clip asked through a Varnish edge in
 * front of the three nodes (sharing an S3 video store, s3rver) is polled as a player's page does, until its
 * master playlist and the first segment of every rendition answer 200 through the edge ("first playable");
 * the same against one node alone (SQLite, its data directory as the video store). Encodes per video are
 * read from the cluster's store (PgVideoStore): each video must have been encoded once for the whole cluster.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PgVideoStore } from '../src/store/postgres/video-store.ts';
import type { TestCluster } from '../test/helpers/cluster.ts';
import { makeClip } from '../test/helpers/video.ts';
import { startPictor } from './lib/pictor.ts';
import { sleep } from './lib/proc.ts';
import { table } from './lib/scenario.ts';
import { fmtMs, median } from './lib/stats.ts';

const POLL_MS = 250;
/** A bound on one wait for an encode, never a measure. */
const ENCODE_BOUND_MS = 300_000;

export interface VideoPart {
  verdicts: { label: string; value: string; target: string; pass: boolean | undefined }[];
  render(otherShare: number): string[];
}

/** The lines of a playlist that are URIs. */
function uris(playlist: string): string[] {
  return playlist.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

/** Polls the master at `base` until 200, then fetches every variant and its first segment: ms until all answered 200, and any non-200 after the master's. */
async function firstPlayable(base: string): Promise<{ ms: number; after200: number[] }> {
  const started = performance.now();
  let master: string;
  for (;;) {
    const response = await fetch(base);
    if (response.status === 200) {
      master = await response.text();
      break;
    }
    await response.arrayBuffer();
    if (response.status !== 423) throw new Error(`${base}: ${response.status}`);
    if (performance.now() - started > ENCODE_BOUND_MS) throw new Error(`${base}: still processing`);
    await sleep(POLL_MS);
  }
  const after200: number[] = [];
  for (const variant of uris(master)) {
    const variantUrl = new URL(variant, base);
    const response = await fetch(variantUrl);
    if (response.status !== 200) {
      after200.push(response.status);
      continue;
    }
    const segment = await fetch(new URL(uris(await response.text())[0]!, variantUrl));
    await segment.arrayBuffer();
    if (segment.status !== 200) after200.push(segment.status);
  }
  return { ms: performance.now() - started, after200 };
}

export async function videoFirstPlayable(c: TestCluster, root: string, rounds: number, log: (line: string) => void): Promise<VideoPart> {
  const clip = await makeClip({ width: 1280, height: 720, seconds: 10 });
  const single = join(root, 'video-single-assets');
  mkdirSync(single, { recursive: true });
  const alone = await startPictor(root, 'video-single', single);
  const pool = new pg.Pool({ connectionString: c.databaseUrl, max: 1 });
  const videos = new PgVideoStore(pool);
  const sourceId = ((await c.api('GET', '/api/v1/sources')).body as { data: { id: string }[] }).data[0]!.id;
  const edge: number[] = [];
  const one: number[] = [];
  const encodes: number[] = [];
  const after200: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const name = `clip-${round}.mp4`;
      await c.put(name, clip);
      writeFileSync(join(single, name), clip);
      log(`  round ${round + 1}/${rounds}: through the edge…`);
      const viaEdge = await firstPlayable(`${c.edges[0]!.url}/${name}?fm=hls`);
      edge.push(viaEdge.ms);
      after200.push(...viaEdge.after200);
      encodes.push((await videos.get(sourceId, `/${name}`))?.encodes ?? 0);
      log(`  round ${round + 1}/${rounds}: one node alone…`);
      const alone1 = await firstPlayable(`${alone.renderUrl}/${name}?fm=hls`);
      one.push(alone1.ms);
      after200.push(...alone1.after200);
    }
  } finally {
    await pool.end();
    await alone.stop();
  }
  const everyOnce = encodes.every((count) => count === 1);
  return {
    verdicts: [
      { label: 'video first playable through an edge, 3 nodes (median)', value: `${fmtMs(median(edge))} ms`, target: '—', pass: undefined },
      { label: 'encodes per video across the cluster', value: encodes.join(', '), target: '1 each', pass: everyOnce },
      { label: 'non-200 answers for a variant or segment after the master answered 200', value: String(after200.length), target: '0', pass: after200.length === 0 },
    ],
    render: (otherShare) => [
      '### Video: first playable, edge in front of 3 nodes vs one node',
      '',
      `A 10 s 1280×720 H.264/AAC clip under a new name each round (${rounds} round${rounds === 1 ? '' : 's'}), its master playlist polled every ${POLL_MS} ms until 200, ` +
        'then every variant playlist and its first segment fetched: the time from the first request until all of them answered 200. ' +
        'Through the edge, the three nodes share an S3 video store (s3rver on loopback) and PostgreSQL; one node alone uses SQLite and its data directory. ' +
        `Other processes used ${Math.round(otherShare * 100)} % of the machine during the whole run.`,
      '',
      table(
        ['Where', 'First playable (each round)', 'Median'],
        [
          ['edge → 3 nodes', edge.map((ms) => `${fmtMs(ms)} ms`).join(', '), `${fmtMs(median(edge))} ms`],
          ['one node alone', one.map((ms) => `${fmtMs(ms)} ms`).join(', '), `${fmtMs(median(one))} ms`],
        ],
      ),
      '',
      `Encodes per video across the cluster (PostgreSQL \`videos.encodes\`): ${encodes.join(', ')}.`,
      '',
    ],
  };
}
