/** 8. Webhook latency: a purge's completion → its signed `purge.completed` message at a receiver on loopback. */
import { copyFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from '../lib/http.ts';
import { startPictor } from '../lib/pictor.ts';
import { table, type Scenario } from '../lib/scenario.ts';
import { fmt, median, percentile } from '../lib/stats.ts';

/** Purge completed → its webhook received. */
const TARGET_P99_MS = 100;

interface Receiver {
  url: string;
  /** When each purge's message arrived (Date.now(): the server's clock, the same machine). */
  arrivals: Map<string, number>;
  waitFor(purgeId: string): Promise<number>;
  close(): Promise<void>;
}

/** A receiver that answers 204 at once and notes when each purge's message arrived. */
async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = Date.now();
      const id = (JSON.parse(Buffer.concat(chunks).toString()) as { data: { purge_id: string } }).data.purge_id;
      res.writeHead(204).end();
      if (!arrivals.has(id)) arrivals.set(id, at);
      waiters.get(id)?.(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    arrivals,
    waitFor: (purgeId) => (arrivals.has(purgeId) ? Promise.resolve(arrivals.get(purgeId)!) : new Promise((resolve) => waiters.set(purgeId, resolve))),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const s8: Scenario = {
  id: '8',
  title: 'Webhook after purge completion',
  async run(context) {
    const samples = context.quick ? 20 : 200;
    mkdirSync(join(context.assets, 'hooks'), { recursive: true });
    const receiver = await startReceiver();
    const pictor = await startPictor(context.tmp, 's8', context.assets, { args: ['--outbound-allow', '127.0.0.1/32'] });
    try {
      const body = JSON.stringify({ data: { type: 'webhooks', attributes: { url: receiver.url, events: ['purge.completed'] } } });
      const headers = { authorization: `Bearer ${pictor.apiKey}`, 'content-type': 'application/vnd.api+json' };
      const added = await request(`${pictor.adminUrl}/api/v1/webhooks`, { method: 'POST', headers, body });
      if (added.status !== 201) throw new Error(`webhook: ${added.status} ${added.body.toString().slice(0, 300)}`);
      const afterCompletion: number[] = [];
      const afterPost: number[] = [];
      for (let i = 0; i < samples; i++) {
        const asset = `hooks/h${i}.png`;
        copyFileSync(context.tiny, join(context.assets, asset));
        const sent = Date.now();
        const id = await pictor.purge(`${pictor.renderUrl}/${asset}`);
        const arrived = await receiver.waitFor(id);
        const status = await pictor.purgeStatus(id);
        afterCompletion.push(arrived - Date.parse(status.completed_at!));
        afterPost.push(arrived - sent);
      }
      const row = (name: string, values: number[]): (string | number)[] => [name, values.length, fmt(median(values), 0), fmt(percentile(values, 99), 0), fmt(Math.max(...values), 0)];
      const p99 = percentile(afterCompletion, 99);
      return {
        comparedWith: 'nothing: the time from a purge\'s completion to its webhook',
        verdicts: [{ label: 'purge completed → webhook received, p99', value: `${fmt(p99, 0)} ms`, target: `≤ ${TARGET_P99_MS} ms`, pass: p99 <= TARGET_P99_MS }],
        body: [
          `${samples} purges, one after another, of a fresh 8×8 PNG each, with one webhook subscribed to \`purge.completed\` at a receiver on loopback that answers 204 at once. Times in whole ms (Date.now() on one machine; \`completed_at\` is the server's).`,
          table(['interval', 'samples', 'p50 ms', 'p99 ms', 'max ms'], [row('`completed_at` → message received', afterCompletion), row('POST /api/v1/purge → message received', afterPost)]),
        ],
        reading:
          `A purge's \`purge.completed\` message reached the receiver a median ${fmt(median(afterCompletion), 0)} ms after the purge's \`completed_at\` (p99 ${fmt(p99, 0)} ms): ` +
          'the message is written with the completion, which is committed at once because a webhook waits for it, ' +
          'and the worker is woken in-process once it is committed.',
        commands: [pictor.command, `# per sample: POST ${pictor.adminUrl}/api/v1/purge, wait for the message at ${receiver.url}, GET ${pictor.adminUrl}/api/v1/purges/<id>`],
      };
    } finally {
      await pictor.stop();
      await receiver.close();
    }
  },
};
