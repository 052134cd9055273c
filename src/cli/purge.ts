import fs from 'node:fs/promises';
import type { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { resolveClientSettings } from '../config/options.ts';
import { CLIENT_SETTINGS } from '../config/settings.ts';
import { addSettingOptions, settingFlags } from './setting-options.ts';

interface PurgeFlags {
  file?: string;
  wait?: boolean;
  prefix?: boolean;
  tag: string[];
  source?: string;
  timeout: string;
}

/** What one purge request asks for: its attributes, and how the results name it. */
interface Target {
  label: string;
  attributes: Record<string, unknown>;
}

interface Outcome {
  /** The URL, or `tag "…"`. */
  target: string;
  id?: string;
  status: string;
  origin?: string | null;
  /** Cached files removed (exact purges). */
  matched?: number | null;
  /** Assets that carried the tag (tag purges). */
  assets?: number | null;
  /** The status document's `meta.pictor.warning`: a purge that cannot have been meant. */
  warning?: string;
  ms?: number;
  error?: string;
  /** Each edge's state once the purge ended: `name:state`. */
  edges?: string;
}

/** `pictor purge URL…`: purges through the API (so it works against any Pictor, local or not). */
export function registerPurgeCommand(program: Command): void {
  const command = program
    .command('purge [urls...]')
    .description('purge assets (every derivative of each URL, or of every asset carrying a tag) through the Purge API')
    .option('--file <file>', 'read more URLs from a file, one per line (- for standard input)');
  addSettingOptions(command, CLIENT_SETTINGS)
    .option('--prefix', 'purge everything under each URL (a folder: match "prefix"), not the one asset')
    .option('--tag <tag>', 'purge every asset carrying this tag (Assets API tags, matched exactly); may be repeated', collect, [])
    .option('--source <id>', 'with --tag: only the assets of this Source')
    .option('--wait', 'wait until each purge has completed and print its result')
    .option('--timeout <seconds>', 'with --wait, how long to wait for each purge', '60')
    .action(async (urls: string[], flags: PurgeFlags) => {
      const { apiUrl, apiKey: key } = resolveClientSettings(settingFlags(CLIENT_SETTINGS, { ...flags }));
      if (!key) throw new Error('an API key is needed: --key KEY or the PICTOR_API_KEY environment variable');
      const all = await targets(urls, flags);
      const api = new PurgeClient(apiUrl.replace(/\/+$/, ''), key);
      // Which Pictor the purges go to, on stderr: stdout carries only the results.
      process.stderr.write(`Pictor API: ${apiUrl}\n`);

      const bar = all.length > 1 ? await progressBar(process.stderr) : undefined;
      bar?.start(all.length, 0);
      const outcomes: Outcome[] = [];
      for (const target of all) {
        outcomes.push(await api.purge(target));
        bar?.increment();
      }
      bar?.stop();

      if (flags.wait) {
        const deadline = Number(flags.timeout) * 1000;
        for (const outcome of outcomes) if (outcome.id) Object.assign(outcome, await api.waitFor(outcome.id, deadline));
      }
      for (const outcome of outcomes) process.stdout.write(`${formatOutcome(outcome)}\n`);
      for (const outcome of outcomes) if (outcome.warning) process.stderr.write(`warning: ${outcome.target}: ${outcome.warning}\n`);
      if (outcomes.some((outcome) => outcome.status === 'failed' || outcome.status === 'error' || outcome.status === 'timeout')) process.exitCode = 1;
    });
}

/** The purges asked for: each URL (with --prefix, each folder), or each --tag; not both kinds at once. */
async function targets(urls: string[], flags: PurgeFlags): Promise<Target[]> {
  const all = [...urls, ...(flags.file ? await readUrls(flags.file) : [])];
  if (flags.tag.length > 0) {
    if (all.length > 0) throw new Error('purge URLs or --tag, not both: run pictor purge once for each');
    if (flags.prefix) throw new Error('--prefix goes with URLs, not with --tag');
    const sourceId = flags.source === undefined ? {} : { source_id: flags.source };
    return flags.tag.map((tag) => ({ label: `tag ${JSON.stringify(tag)}`, attributes: { tag, ...sourceId } }));
  }
  if (flags.source !== undefined) throw new Error('--source goes with --tag: a URL names its Source by its domain');
  if (all.length === 0) throw new Error('nothing to purge: pass URLs, --file FILE or --tag TAG');
  const match = flags.prefix ? 'prefix' : 'exact';
  return all.map((url) => ({ label: url, attributes: { url, match } }));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The longest wait one status request asks of the server (which allows 30 s). */
const MAX_WAIT_SECONDS = 10;

class PurgeClient {
  constructor(
    private readonly base: string,
    private readonly key: string,
  ) {}

  async purge({ label: target, attributes }: Target): Promise<Outcome> {
    for (;;) {
      const response = await this.fetch(`${this.base}/api/v1/purge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/vnd.api+json', accept: 'application/vnd.api+json' },
        body: JSON.stringify({ data: { type: 'purges', attributes } }),
      });
      if (response.status === 429) {
        await sleep(Number(response.headers.get('retry-after') ?? '1') * 1000);
        continue;
      }
      const body = (await response.json().catch(() => ({}))) as { data?: { id: string }; errors?: { detail: string }[] };
      if (!response.ok || !body.data) return { target, status: 'error', error: body.errors?.[0]?.detail ?? `HTTP ${response.status}` };
      return { target, id: body.data.id, status: 'accepted' };
    }
  }

  /** fetch, whose failure to reach the API says which address was tried and how to give another one. */
  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch (error) {
      throw new Error(unreachable(this.base, error), { cause: error });
    }
  }

  async waitFor(id: string, timeoutMs: number): Promise<Partial<Outcome>> {
    const started = Date.now();
    for (let delay = 20; Date.now() - started < timeoutMs; delay = Math.min(delay * 2, 1000)) {
      // The server answers as soon as the purge completes, or after `wait` seconds.
      const wait = Math.min(MAX_WAIT_SECONDS, Math.max(0, (timeoutMs - (Date.now() - started)) / 1000));
      const asked = Date.now();
      const response = await this.fetch(`${this.base}/api/v1/purges/${id}?wait=${wait.toFixed(1)}`, { headers: { authorization: `Bearer ${this.key}` } });
      type Attributes = Record<string, string | null> & {
        matched?: number | null; assets?: number | null; edge_states?: { name: string; state: string }[];
      };
      const body = (await response.json()) as { data?: { attributes: Attributes }; meta?: { pictor?: { warning?: string } } };
      const attributes = body.data?.attributes;
      if (attributes && attributes.status !== 'pending') {
        const ms = Date.parse(attributes.completed_at ?? '') - Date.parse(attributes.created_at ?? '');
        const warning = body.meta?.pictor?.warning;
        const error = attributes.error ?? attributes.origin_error ?? undefined;
        const edges = (attributes.edge_states ?? []).map((edge) => `${edge.name}:${edge.state}`).join(',') || undefined;
        const { origin, matched, assets } = attributes;
        const outcome = { status: attributes.status ?? 'unknown', origin, matched, assets, ms, error, edges };
        return warning ? { ...outcome, warning } : outcome;
      }
      // A server that does not wait (an older version) answered pending at once: ask again after a pause.
      if (Date.now() - asked < (wait * 1000) / 2) await sleep(delay);
    }
    return { status: 'timeout' };
  }
}

/** Why the API could not be reached, worded for the person at the terminal. */
const REASONS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused: no server listens there',
  ENOTFOUND: 'that host name is unknown',
  EAI_AGAIN: 'that host name could not be looked up',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'that host cannot be reached',
};

function unreachable(base: string, error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = REASONS[cause?.code ?? ''] ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  const { apiUrl } = CLIENT_SETTINGS;
  return (
    `cannot reach the Pictor API at ${base} (${reason}). Is the server running? Give its admin URL (the "Admin URL" ` +
    `of its start banner) with ${apiUrl.flag} <url> or ${apiUrl.env}.`
  );
}

/**
 * Progress on stderr, so that stdout carries only the results. On a terminal, a bar redrawn in place. Off a
 * terminal (CI logs, a file) cli-progress draws nothing by default; a plain line at the start, every 5 s and
 * at the end says how far a long list has got without filling the log with redraws.
 */
async function progressBar(stream: NodeJS.WriteStream): Promise<SingleBar> {
  const { SingleBar, Presets } = await import('cli-progress');
  if (stream.isTTY) return new SingleBar({ format: 'purging [{bar}] {value}/{total} {eta_formatted} left', stream }, Presets.shades_classic);
  // clearOnComplete only drops the blank line the last line is otherwise followed by: off a terminal there is nothing to clear.
  return new SingleBar({ format: 'purging {value}/{total}', stream, noTTYOutput: true, notTTYSchedule: 5000, clearOnComplete: true });
}

function formatOutcome(outcome: Outcome): string {
  const parts = [outcome.status.padEnd(9), outcome.target];
  if (outcome.id) parts.push(`id=${outcome.id}`);
  if (typeof outcome.assets === 'number') parts.push(`assets=${outcome.assets}`);
  if (outcome.origin) parts.push(`origin=${outcome.origin}`);
  if (typeof outcome.matched === 'number') parts.push(`matched=${outcome.matched}`);
  if (outcome.ms !== undefined && Number.isFinite(outcome.ms)) parts.push(`${outcome.ms}ms`);
  if (outcome.edges) parts.push(`edges=${outcome.edges}`);
  if (outcome.origin === 'unchanged') parts.push('(the origin still has the same file: change or remove it at the origin first)');
  if (outcome.origin === 'unknown') parts.push(`(the origin could not be asked: ${outcome.error}; the purge took effect all the same)`);
  else if (outcome.error) parts.push(`error: ${outcome.error}`);
  return parts.join('  ');
}

async function readUrls(file: string): Promise<string[]> {
  const text = file === '-' ? await readStdin() : await fs.readFile(file, 'utf8');
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
