/** 2. Cache hit: one cached derivative at concurrency 64, vs nginx serving the same bytes and ipx (same URL). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canPin, cpuWindow, groupCpuSeconds, LOAD_CPU, pinGroup, SERVER_CPU, waitIdle } from '../lib/cpu.ts';
import { getOk } from '../lib/http.ts';
import { startIpx, startNginx, startStaticNode, type Server } from '../lib/peers.ts';
import { startPictor } from '../lib/pictor.ts';
import { table, type Scenario } from '../lib/scenario.ts';
import { fmt, fmtMs, fmtRatio, fmtSpread, interleave, median, ratios, spread } from '../lib/stats.ts';
import { wrk } from '../lib/wrk.ts';

const CONTENDERS = ['pictor', 'nginx', 'node', 'nodeHeaders', 'ipx'] as const;
/** The headers Node writes itself: the peer with Pictor's headers sends the others. */
const NODE_OWN = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);
const msSpread = (values: number[]): string => {
  const s = spread(values);
  return `${fmtMs(s.median)} (${fmtMs(s.min)}–${fmtMs(s.max)})`;
};

const LABELS = {
  pictor: 'Pictor (derivative cache hit)',
  nginx: 'nginx, 1 worker (static file, same bytes)',
  node: 'bare Node http server (same bytes from memory)',
  nodeHeaders: "bare Node http server, same bytes with the headers of Pictor's hit",
  ipx: 'ipx (same URL; ipx has no derivative cache: renders each time)',
};

export const s2: Scenario = {
  id: '2',
  title: 'Cache hit',
  async run(context) {
    const seconds = context.quick ? 2 : 10;
    const shortSeconds = context.quick ? 2 : 5; // informational contenders (bare Node, ipx) get shorter rounds
    const rounds = 3;
    const pictor = await startPictor(context.tmp, 's2', context.assets);
    const servers: Server[] = [];
    try {
      const pictorUrl = `${pictor.renderUrl}/${context.photo}?w=800&fm=webp&q=75`;
      await getOk(pictorUrl);
      const hit = await getOk(pictorUrl);
      const cacheStatus = String(hit.headers['cache-status'] ?? '');
      if (!cacheStatus.includes('Pictor; hit')) throw new Error(`second request was not a cache hit: Cache-Status ${cacheStatus}`);
      const root = join(context.tmp, 's2-static');
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, 'photo-w800.webp'), hit.body);
      const nginx = await startNginx(join(context.tmp, 's2-nginx'), root);
      servers.push(nginx);
      const node = await startStaticNode(join(root, 'photo-w800.webp'), 'image/webp');
      servers.push(node);
      const hitHeaders = Object.entries(hit.headers).filter(([name]) => !NODE_OWN.has(name)).flatMap(([name, value]) => [name, String(value)]);
      writeFileSync(join(root, 'hit-headers.json'), JSON.stringify(hitHeaders));
      const nodeHeaders = await startStaticNode(join(root, 'photo-w800.webp'), 'image/webp', join(root, 'hit-headers.json'));
      servers.push(nodeHeaders);
      const ipx = await startIpx(context.assets, 'defaults');
      servers.push(ipx);
      const urls = { pictor: pictorUrl, nginx: `${nginx.url}/photo-w800.webp`, node: `${node.url}/photo-w800.webp`, nodeHeaders: `${nodeHeaders.url}/photo-w800.webp`, ipx: `${ipx.url}/w_800,f_webp,q_75/${context.photo}` };
      const pids = { pictor: pictor.child.pid, nginx: nginx.child.pid, node: node.child.pid, nodeHeaders: nodeHeaders.child.pid, ipx: ipx.child.pid };
      const nginxBody = await getOk(urls.nginx);
      if (!nginxBody.body.equals(hit.body)) throw new Error('nginx does not serve the same bytes');
      await getOk(urls.ipx);
      const pinned = canPin();
      if (pinned) for (const who of CONTENDERS) pinGroup(pids[who], SERVER_CPU);
      const cpu = pinned ? LOAD_CPU : undefined;
      // JIT warm-up (not measured): the first seconds of a Node server run unoptimised code.
      for (const who of ['pictor', 'nginx', 'node', 'nodeHeaders'] as const) await wrk({ url: urls[who], connections: 64, seconds: context.quick ? 1 : 3, cpu });

      const perContender = (): Record<string, number[]> => Object.fromEntries(CONTENDERS.map((who) => [who, []]));
      const p99 = perContender();
      const p50 = perContender();
      const other = perContender();
      const cpuUs = perContender();
      const problems: string[] = [];
      const commands = new Map<string, string>();
      const values = await interleave(rounds, CONTENDERS, async (who) => {
        const window = cpuWindow();
        const cpu0 = groupCpuSeconds(pids[who]);
        const result = await wrk({ url: urls[who], connections: 64, seconds: who === 'pictor' || who === 'nginx' ? seconds : shortSeconds, cpu });
        if (result.non2xx + result.socketErrors > 0) problems.push(`${who}: ${result.non2xx} non-2xx, ${result.socketErrors} socket errors`);
        cpuUs[who]!.push(((groupCpuSeconds(pids[who]) - cpu0) / Math.max(result.requests, 1)) * 1e6);
        other[who]!.push(window.end().otherShare);
        await waitIdle(pids[who]); // ipx goes on rendering the requests wrk abandoned
        p99[who]!.push(result.latencyMs.p99);
        p50[who]!.push(result.latencyMs.p50);
        commands.set(who, result.command);
        return result.okPerSecond;
      });
      const vsNginx = spread(ratios(values.pictor, values.nginx));
      const vsIpx = spread(ratios(values.pictor, values.ipx));
      const vsNode = spread(ratios(values.pictor, values.node));
      const vsSameHeaders = spread(ratios(values.pictor, values.nodeHeaders));
      const headersCost = spread(ratios(values.nodeHeaders, values.node));
      const pictorP99 = spread(p99.pictor!);
      const rows = CONTENDERS.map((who) => [LABELS[who], fmtSpread(spread(values[who]), 0), values[who].map((v) => fmt(v, 0)).join(', '), msSpread(p50[who]!), msSpread(p99[who]!), fmt(median(cpuUs[who]!), 0), other[who]!.map((o) => `${fmt(o * 100, 0)} %`).join(', ')]);
      const nginxPass = vsNginx.median >= 0.8;
      const nodePass = vsNode.median >= 0.9;
      const p99Pass = pictorP99.median <= 5;
      return {
        comparedWith: 'nginx (Debian, 1 worker) serving the same bytes as a static file; ipx 3.1.1 (same URL)',
        capacity: { hits: { value: `${fmt(median(values.pictor), 0)} req/s, p99 ${fmtMs(median(p99.pictor!))} ms`, against: `${fmtRatio(vsNginx)} nginx, ${fmtRatio(vsNode)} bare Node (targets ≥ 0.8×, ≥ 0.9×; p99 ≤ 5 ms)` } },
        verdicts: [
          { label: 'Pictor / nginx (req/s)', value: fmtRatio(vsNginx), target: '≥ 0.8×', pass: nginxPass },
          { label: 'Pictor / bare Node http server (req/s)', value: fmtRatio(vsNode), target: '≥ 0.9×', pass: nodePass },
          { label: 'Pictor p99 latency at c=64 (median of rounds)', value: `${msSpread(p99.pictor!)} ms`, target: '≤ 5 ms', pass: p99Pass },
          { label: "bare Node with Pictor's headers / bare Node (what sending a hit's headers costs)", value: fmtRatio(headersCost), target: 'informational', pass: undefined },
          { label: "Pictor / bare Node with Pictor's headers (what Pictor does to find the answer)", value: fmtRatio(vsSameHeaders), target: 'informational', pass: undefined },
          { label: 'Pictor / nginx, requests per CPU-second (cross-check, robust to other load)', value: fmtRatio(spread(cpuUs.nginx!.map((n, i) => n / cpuUs.pictor![i]!))), target: 'informational', pass: undefined },
          { label: 'Pictor / ipx (req/s)', value: fmtRatio(vsIpx), target: 'informational', pass: undefined },
        ],
        body: [
          `One derivative (\`w=800&fm=webp&q=75\` of the 2000×1333 JPEG, ${hit.body.length} bytes), cached before the run (checked: \`Cache-Status: ${cacheStatus}\`). wrk, 1 thread, 64 connections, ${seconds} s per contender per round (bare Node and ipx ${shortSeconds} s), ${rounds} rounds interleaved, after a ${context.quick ? 1 : 3}-s unmeasured warm-up of each HTTP server. ${pinned ? 'Each server (all its threads and processes) is pinned to core 0 and wrk to core 1 (`taskset`), so every contender gets the same split of the machine.' : 'Not pinned to cores (no taskset or fewer than 2 cores).'}`,
          table(['Contender', 'req/s, median (min–max)', 'per round', 'p50 ms', 'p99 ms', 'server CPU µs per request', 'other work, per round'], rows),
          '"server CPU": CPU time of the server\'s processes (all threads; nginx\'s master and worker) over the run, per request. "other work": share of both cores used by processes the bench did not start during the run (0 % = a quiet machine).',
          problems.length ? `**Problems:** ${problems.join('; ')}.` : 'No non-2xx response and no socket error.',
        ],
        reading:
          `A hit is pure HTTP work: the response is ${hit.body.length} bytes from memory. Pictor served ${fmt(median(values.pictor), 0)} req/s against nginx's ${fmt(median(values.nginx), 0)} (${fmt(vsNginx.median, 2)}×, target 0.8×: ${nginxPass ? 'met' : 'missed'}) and ${fmt(vsNode.median, 2)}× a bare Node http server (target 0.9×: ${nodePass ? 'met' : 'missed'}), with a p99 of ${fmt(pictorP99.median, 2)} ms (target 5 ms: ${p99Pass ? 'met' : 'missed'}). ` +
          `The same bare Node server sending the ${hitHeaders.length / 2} headers of Pictor's hit instead of 3 ran at ${fmt(headersCost.median, 2)}× its own rate: that is what the headers cost to write, and Pictor ran at ${fmt(vsSameHeaders.median, 2)}× that server, which is what everything else a hit does costs (parsing the request's headers, the route, the cache lookup, freshness, takedowns, metrics). ` +
          `Both servers run one event loop on one core while wrk takes the other, so the ratio is the per-request CPU cost of the hit path (routing, parameter parsing and the cache key, the freshness check, headers) against nginx's sendfile path; the bare Node http server, which does nothing but write the same bytes, reached ${fmt(median(values.node), 0)} req/s (Pictor / bare Node ${fmt(vsNode.median, 2)}×): that is the ceiling of one Node event loop here, and what Pictor loses below it is its own per-request work (routing, the memoised target lookup, the cache key, freshness, headers, metrics). Per request, Pictor's process spent ${fmt(median(cpuUs.pictor!), 0)} µs of CPU against nginx's ${fmt(median(cpuUs.nginx!), 0)} µs and the bare Node server's ${fmt(median(cpuUs.node!), 0)} µs. For 0.8× nginx Pictor would have to reach ${fmt(0.8 * median(values.nginx), 0)} req/s, ${fmt((0.8 * median(values.nginx)) / median(values.node) * 100, 0)} % of what a bare Node server sending 3 headers does here. (Calibration for this machine type: about 50,000/s for nginx with one worker and for a bare Node server; here they did ${fmt(median(values.nginx), 0)} and ${fmt(median(values.node), 0)} with ${hit.body.length}-byte responses.) ` +
          `ipx has no derivative cache and renders every request, so its ${fmt(median(values.ipx), 0)} req/s is a render rate, shown only to say what a cache is worth here.`,
        commands: [pictor.command, nginx.command, node.command, ipx.command, ...commands.values()],
      };
    } finally {
      await Promise.all([pictor.stop(), ...servers.map((s) => s.stop())]);
    }
  },
};
