import fs from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import path from 'node:path';
import { HEAVY_RENDER_BYTES, lightReserve } from '../render/cost.ts';
import { decodeSecretKey } from '../store/secret-box.ts';

/**
 * Every setting is resolved once, at start, as `flag ?? environment ?? default`, and validated up front:
 * an invalid value stops Pictor with a message that names the setting (never a surprise at request time).
 */
export interface PictorOptions {
  host: string;
  port: number;
  adminHost: string;
  adminPort: number;
  dataDir: string;
  assetsDir: string;
  publicUrl: URL | undefined;
  /** Largest input image accepted, in pixels (width × height). */
  maxInputPixels: number;
  /** Largest origin file accepted, in bytes. */
  maxInputBytes: number;
  /** Byte bound of the disk tier (origin masters and derivatives together). */
  diskCacheBytes: number;
  /** Byte bound of the in-memory derivative tier. */
  memoryCacheBytes: number;
  /** Byte bound of the in-memory tier of origin masters. */
  masterMemoryBytes: number;
  /** Byte bound of the in-memory tier of decoded, pre-shrunk masters. */
  decodedMemoryBytes: number;
  /** Purge requests per second allowed per API key. */
  purgeRateLimit: number;
  /** Renders running at once; more wait in a bounded queue. */
  renderConcurrency: number;
  /** libvips threads per render (sharp's concurrency). */
  renderThreads: number;
  renderQueueLimit: number;
  renderTimeoutSeconds: number;
  /** Memory renders may hold together, by their estimates (light renders' share is reserved out of it). */
  renderMemoryBytes: number;
  logLevel: string;
  /** IPs and CIDRs that outbound fetches (webfolder, webproxy, sub-image URLs) may reach although private. */
  outboundAllow: string[];
  /** Parent domain of `imgix_subdomains` labels: the label `shop` serves `shop.<base domain>`. */
  baseDomain: string | undefined;
  /** Timeout of one outbound origin request, in seconds. */
  originTimeoutSeconds: number;
  /** How long purges and the marks they applied are kept after they ended, in seconds. */
  purgeRetentionSeconds: number;
  /**
   * Real paths of the directories `folder` Sources may serve from (`--folder-root`, repeatable), the assets
   * directory always first.
   */
  folderRoots: string[];
  /** `PICTOR_SECRET_KEY` (environment only): keys of Source secrets at rest, the first encrypts; else `<data>/secret.key`. */
  secretKeys: Buffer[] | undefined;
  /**
   * `postgres://USER@HOST:PORT/DB`: the database every node of a cluster shares (Sources, API keys, dashboard
   * accounts and sessions, purges, nodes, edges); `--data` then holds only this node's cache files (and its
   * key file, without PICTOR_SECRET_KEY). Absent: SQLite under `--data`.
   */
  databaseUrl: string | undefined;
  /** This node's name in a cluster; absent, `<hostname>:<render port>`, filled in once the port is known. */
  nodeId: string | undefined;
  /** How long a node's lease lasts without renewal, in seconds: a node silent longer is fenced. */
  nodeLeaseSeconds: number;
  /**
   * Keep serving from the local cache while the database cannot be reached (availability over freshness):
   * a purge completed meanwhile by the other nodes is applied here only after reconnecting.
   */
  serveWhenIsolated: boolean;
  /** ffmpeg for the Video API; absent, the one the npm package `@ffmpeg-installer/ffmpeg` ships. */
  ffmpegPath: string | undefined;
  /** ffprobe for the Video API; absent, the one the npm package `ffprobe-static` ships. */
  ffprobePath: string | undefined;
  /** Videos processed (encoded) at once; more wait in a bounded queue. */
  videoConcurrency: number;
  /** Longest video the Video API processes, in seconds. */
  videoMaxDurationSeconds: number;
  /** How often at least a processed video is revalidated at its origin (removed there → its outputs deleted). */
  videoRecheckIntervalSeconds: number;
}

/** A setting as the user named it, for error messages: `--port / PICTOR_PORT`. */
interface Setting {
  flag: string;
  env: string;
}

/** Flags as parsed; `folderRoots` may be repeated (a list), or one string separated by path.delimiter like the environment. */
type RawOptions = Partial<Record<Exclude<keyof PictorOptions, 'folderRoots'>, string | number | undefined>> & { folderRoots?: string | readonly string[] | undefined };

export class ConfigError extends Error {
  constructor(setting: Setting, message: string) {
    super(`Invalid configuration: ${setting.flag === '' ? setting.env : `${setting.flag} (${setting.env})`} ${message}`);
    this.name = 'ConfigError';
  }
}

const SETTINGS: Record<keyof PictorOptions, Setting> = {
  host: { flag: '--host', env: 'PICTOR_HOST' },
  port: { flag: '--port', env: 'PICTOR_PORT' },
  adminHost: { flag: '--admin-host', env: 'PICTOR_ADMIN_HOST' },
  adminPort: { flag: '--admin-port', env: 'PICTOR_ADMIN_PORT' },
  dataDir: { flag: '--data', env: 'PICTOR_DATA_DIR' },
  assetsDir: { flag: '--assets', env: 'PICTOR_ASSETS_DIR' },
  publicUrl: { flag: '--public-url', env: 'PICTOR_PUBLIC_URL' },
  maxInputPixels: { flag: '--max-input-pixels', env: 'PICTOR_MAX_INPUT_PIXELS' },
  maxInputBytes: { flag: '--max-input-bytes', env: 'PICTOR_MAX_INPUT_BYTES' },
  diskCacheBytes: { flag: '--disk-cache-size', env: 'PICTOR_DISK_CACHE_SIZE' },
  memoryCacheBytes: { flag: '--memory-cache-size', env: 'PICTOR_MEMORY_CACHE_SIZE' },
  masterMemoryBytes: { flag: '--master-memory-size', env: 'PICTOR_MASTER_MEMORY_SIZE' },
  decodedMemoryBytes: { flag: '--decoded-memory-size', env: 'PICTOR_DECODED_MEMORY_SIZE' },
  purgeRateLimit: { flag: '--purge-rate-limit', env: 'PICTOR_PURGE_RATE_LIMIT' },
  renderConcurrency: { flag: '--render-concurrency', env: 'PICTOR_RENDER_CONCURRENCY' },
  renderThreads: { flag: '--render-threads', env: 'PICTOR_RENDER_THREADS' },
  renderQueueLimit: { flag: '--render-queue-limit', env: 'PICTOR_RENDER_QUEUE_LIMIT' },
  renderTimeoutSeconds: { flag: '--render-timeout', env: 'PICTOR_RENDER_TIMEOUT' },
  renderMemoryBytes: { flag: '--render-memory', env: 'PICTOR_RENDER_MEMORY' },
  logLevel: { flag: '--log-level', env: 'PICTOR_LOG_LEVEL' },
  outboundAllow: { flag: '--outbound-allow', env: 'PICTOR_OUTBOUND_ALLOW' },
  baseDomain: { flag: '--base-domain', env: 'PICTOR_BASE_DOMAIN' },
  originTimeoutSeconds: { flag: '--origin-timeout', env: 'PICTOR_ORIGIN_TIMEOUT' },
  purgeRetentionSeconds: { flag: '--purge-retention', env: 'PICTOR_PURGE_RETENTION' },
  folderRoots: { flag: '--folder-root', env: 'PICTOR_FOLDER_ROOTS' },
  // A key on the command line would show in the process list: the environment only.
  secretKeys: { flag: '', env: 'PICTOR_SECRET_KEY' },
  databaseUrl: { flag: '--database', env: 'PICTOR_DATABASE_URL' },
  nodeId: { flag: '--node-id', env: 'PICTOR_NODE_ID' },
  nodeLeaseSeconds: { flag: '--node-lease', env: 'PICTOR_NODE_LEASE' },
  serveWhenIsolated: { flag: '--serve-when-isolated', env: 'PICTOR_SERVE_WHEN_ISOLATED' },
  ffmpegPath: { flag: '--ffmpeg', env: 'PICTOR_FFMPEG' },
  ffprobePath: { flag: '--ffprobe', env: 'PICTOR_FFPROBE' },
  videoConcurrency: { flag: '--video-concurrency', env: 'PICTOR_VIDEO_CONCURRENCY' },
  videoMaxDurationSeconds: { flag: '--video-max-duration', env: 'PICTOR_VIDEO_MAX_DURATION' },
  videoRecheckIntervalSeconds: { flag: '--video-recheck-interval', env: 'PICTOR_VIDEO_RECHECK_INTERVAL' },
};

export const DEFAULTS = {
  host: '0.0.0.0',
  port: 3000,
  adminHost: '127.0.0.1',
  adminPort: 3001,
  dataDir: './.pictor',
  assetsDir: './assets',
  maxInputPixels: 100_000_000,
  maxInputBytes: 100 * 1024 * 1024,
  diskCacheBytes: 2 * 1024 ** 3,
  memoryCacheBytes: 256 * 1024 ** 2,
  masterMemoryBytes: 128 * 1024 ** 2,
  decodedMemoryBytes: 128 * 1024 ** 2,
  purgeRateLimit: 10,
  // One libvips thread per render and one render per core (plus one to cover a render's I/O and
  // JavaScript gaps), as imgproxy does: measured on the cold-render bench (2 cores, c=8), 6 % more renders
  // per second than 4 renders of 2 threads each, with a lower p99; threads of one render mostly wait on
  // each other when every core is already rendering.
  renderConcurrency: availableParallelism() + 1,
  renderThreads: 1,
  renderQueueLimit: 512,
  renderTimeoutSeconds: 30,
  renderMemoryBytes: 1024 ** 3,
  logLevel: 'info',
  originTimeoutSeconds: 15,
  purgeRetentionSeconds: 7 * 24 * 3600,
  nodeLeaseSeconds: 10,
  // Encoding takes every core it is given; one at a time keeps image renders going on a small machine.
  videoConcurrency: 1,
  videoMaxDurationSeconds: 600,
  videoRecheckIntervalSeconds: 86_400,
} as const;

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Resolves flags (already parsed) over the environment over the defaults, and validates every value. */
export function resolveOptions(flags: RawOptions = {}, env: NodeJS.ProcessEnv = process.env): PictorOptions {
  const pick = picker(flags, env);
  const port = (key: 'port' | 'adminPort'): number => integer(key, pick(key) ?? String(DEFAULTS[key]), 0, 65535);
  const size = (key: 'maxInputBytes' | 'diskCacheBytes' | 'memoryCacheBytes' | 'masterMemoryBytes' | 'decodedMemoryBytes' | 'renderMemoryBytes'): number =>
    bytes(key, pick(key) ?? String(DEFAULTS[key]));

  const logLevel = pick('logLevel') ?? DEFAULTS.logLevel;
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(SETTINGS.logLevel, `must be one of ${[...LOG_LEVELS].join(', ')}, got "${logLevel}"`);

  const renderConcurrency = integer('renderConcurrency', pick('renderConcurrency') ?? String(DEFAULTS.renderConcurrency), 1, 1024);
  const renderMemoryBytes = size('renderMemoryBytes');
  const leastRenderMemory = lightReserve(renderConcurrency) + HEAVY_RENDER_BYTES;
  if (renderMemoryBytes < leastRenderMemory) {
    throw new ConfigError(
      SETTINGS.renderMemoryBytes,
      `must be at least ${Math.ceil(leastRenderMemory / 1024 ** 2)}mb with ${renderConcurrency} renders at once (--render-concurrency), got "${pick('renderMemoryBytes')}"`,
    );
  }
  const assetsDir = path.resolve(pick('assetsDir') ?? DEFAULTS.assetsDir);
  return {
    host: hostName('host', pick('host') ?? DEFAULTS.host),
    port: port('port'),
    adminHost: hostName('adminHost', pick('adminHost') ?? DEFAULTS.adminHost),
    adminPort: port('adminPort'),
    assetsDir,
    publicUrl: publicUrl(pick('publicUrl')),
    maxInputPixels: integer('maxInputPixels', pick('maxInputPixels') ?? String(DEFAULTS.maxInputPixels), 1, 2 ** 40),
    maxInputBytes: size('maxInputBytes'),
    diskCacheBytes: size('diskCacheBytes'),
    memoryCacheBytes: size('memoryCacheBytes'),
    masterMemoryBytes: size('masterMemoryBytes'),
    decodedMemoryBytes: size('decodedMemoryBytes'),
    purgeRateLimit: number('purgeRateLimit', pick('purgeRateLimit') ?? String(DEFAULTS.purgeRateLimit), 0.001, 1e9),
    renderConcurrency,
    renderThreads: integer('renderThreads', pick('renderThreads') ?? String(DEFAULTS.renderThreads), 1, 64),
    renderQueueLimit: integer('renderQueueLimit', pick('renderQueueLimit') ?? String(DEFAULTS.renderQueueLimit), 0, 1e6),
    renderTimeoutSeconds: integer('renderTimeoutSeconds', pick('renderTimeoutSeconds') ?? String(DEFAULTS.renderTimeoutSeconds), 1, 3600),
    renderMemoryBytes,
    logLevel,
    outboundAllow: cidrList(pick('outboundAllow')),
    baseDomain: domainName('baseDomain', pick('baseDomain')),
    originTimeoutSeconds: integer('originTimeoutSeconds', pick('originTimeoutSeconds') ?? String(DEFAULTS.originTimeoutSeconds), 1, 600),
    purgeRetentionSeconds: duration('purgeRetentionSeconds', pick('purgeRetentionSeconds'), DEFAULTS.purgeRetentionSeconds, 60, 10 * 365 * 24 * 3600),
    folderRoots: folderRoots(flags.folderRoots, env, assetsDir),
    ...resolveStoreSettings(flags, env),
    nodeId: nodeId(pick('nodeId')),
    nodeLeaseSeconds: integer('nodeLeaseSeconds', pick('nodeLeaseSeconds') ?? String(DEFAULTS.nodeLeaseSeconds), 1, 300),
    serveWhenIsolated: boolean('serveWhenIsolated', pick('serveWhenIsolated')),
    ffmpegPath: pick('ffmpegPath'),
    ffprobePath: pick('ffprobePath'),
    videoConcurrency: integer('videoConcurrency', pick('videoConcurrency') ?? String(DEFAULTS.videoConcurrency), 1, 64),
    videoMaxDurationSeconds: duration('videoMaxDurationSeconds', pick('videoMaxDurationSeconds'), DEFAULTS.videoMaxDurationSeconds, 1, 24 * 3600),
    // At most 48 hours: a removal at the origin is then honoured well within the 72 hours imgix promises.
    videoRecheckIntervalSeconds: duration('videoRecheckIntervalSeconds', pick('videoRecheckIntervalSeconds'), DEFAULTS.videoRecheckIntervalSeconds, 1, 48 * 3600),
  };
}

function boolean(key: 'serveWhenIsolated', raw: string | undefined): boolean {
  if (raw === undefined) return false;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(SETTINGS[key], `must be true or false (1 or 0), got "${raw}"`);
}

/** `flag ?? environment`, an empty value counting as none. */
function picker(flags: RawOptions, env: NodeJS.ProcessEnv): (key: Exclude<keyof PictorOptions, 'folderRoots'>) => string | undefined {
  return (key) => {
    const flag = flags[key];
    if (flag !== undefined && flag !== '') return String(flag);
    const fromEnv = env[SETTINGS[key].env];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
}

export type StoreSettings = Pick<PictorOptions, 'dataDir' | 'databaseUrl' | 'secretKeys'>;

/**
 * Where the stores are, as `serve` resolves it: every CLI command that reads or writes them (`keys`,
 * `sources`, `admin`, `secrets`) opens the same ones with the same flags and environment.
 */
export function resolveStoreSettings(flags: { dataDir?: string | number | undefined; databaseUrl?: string | number | undefined }, env: NodeJS.ProcessEnv = process.env): StoreSettings {
  const pick = picker(flags, env);
  return {
    dataDir: path.resolve(pick('dataDir') ?? DEFAULTS.dataDir),
    databaseUrl: databaseUrl(pick('databaseUrl')),
    secretKeys: secretKeys(pick('secretKeys')),
  };
}

/**
 * The two settings the `sources` commands share with `serve`, resolved by the same rules: they write
 * Sources without a server, so they check folders and encrypt secrets as it does.
 */
export function resolveSourceSettings(
  flags: { folderRoots?: readonly string[] | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Pick<PictorOptions, 'folderRoots' | 'secretKeys'> {
  const raw = env[SETTINGS.secretKeys.env];
  const assetsDir = path.resolve(env[SETTINGS.assetsDir.env] || DEFAULTS.assetsDir);
  return { folderRoots: folderRoots(flags.folderRoots, env, assetsDir), secretKeys: secretKeys(raw === '' ? undefined : raw) };
}

/**
 * The assets directory (always allowed: the default Source serves it), then each `--folder-root` (else each
 * entry of PICTOR_FOLDER_ROOTS, separated by path.delimiter like PATH): existing directories, as real paths,
 * so that a Source's folder is compared with what its symlinks lead to.
 */
function folderRoots(flag: string | readonly string[] | undefined, env: NodeJS.ProcessEnv, assetsDir: string): string[] {
  const given = typeof flag === 'string' ? flag.split(path.delimiter) : (flag ?? env[SETTINGS.folderRoots.env]?.split(path.delimiter) ?? []);
  const roots = [realPathOr(assetsDir)];
  for (const entry of given.map((root) => root.trim()).filter(Boolean)) {
    let real: string;
    try {
      real = fs.realpathSync(path.resolve(entry));
    } catch {
      throw new ConfigError(SETTINGS.folderRoots, `must name existing directories, and "${entry}" does not exist`);
    }
    if (!fs.statSync(real).isDirectory()) throw new ConfigError(SETTINGS.folderRoots, `must name existing directories, and "${entry}" is not a directory`);
    if (!roots.includes(real)) roots.push(real);
  }
  return roots;
}

/** The assets directory may not exist yet (it is then served as empty): its resolved path stands in for its real one. */
function realPathOr(directory: string): string {
  try {
    return fs.realpathSync(directory);
  } catch {
    return directory;
  }
}

/** One or more comma-separated 32-byte keys, base64 or hex; the value is never echoed. */
function secretKeys(raw: string | undefined): Buffer[] | undefined {
  if (raw === undefined) return undefined;
  const entries = raw.split(',').map((entry) => entry.trim());
  return entries.map((entry, index) => {
    const key = decodeSecretKey(entry);
    if (key === undefined) {
      throw new ConfigError(
        SETTINGS.secretKeys,
        `must be one or more comma-separated 32-byte keys in base64 or hex (such as the output of \`openssl rand -base64 32\`), and entry ${index + 1} is not one`,
      );
    }
    return key;
  });
}

/** A PostgreSQL URL; a wrong one is not echoed, since it may hold a password. */
function databaseUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const example = 'a PostgreSQL URL such as postgres://USER@HOST:PORT/DB';
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(SETTINGS.databaseUrl, `must be ${example}, and the value given is not a URL`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(SETTINGS.databaseUrl, `must be ${example}, and the value given starts with "${url.protocol}//"`);
  }
  if (url.hostname === '' || url.pathname.length <= 1) throw new ConfigError(SETTINGS.databaseUrl, `must be ${example}, with a host and a database name`);
  return raw.trim();
}

/** A node's name: letters, digits and `.-_:@[]`, as a host name with a port is written. */
function nodeId(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const id = raw.trim();
  if (!/^[A-Za-z0-9._:@[\]-]{1,128}$/.test(id)) {
    throw new ConfigError(SETTINGS.nodeId, `must be 1 to 128 letters, digits or . - _ : @ [ ] (such as node-1 or host.example:3000), got "${raw}"`);
  }
  return id;
}

/** The default node id: this machine's name and the render listener's port (known once it listens). */
export function defaultNodeId(renderPort: number): string {
  return `${hostname()}:${renderPort}`;
}

/** `127.0.0.1/32,10.0.0.0/8,::1`: each entry an IP or a CIDR (validated by node:net). */
function cidrList(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !validBits || extra !== undefined) {
      throw new ConfigError(SETTINGS.outboundAllow, `must be a comma-separated list of IPs and CIDRs such as 127.0.0.1/32, got "${entry}"`);
    }
  }
  return entries;
}

function domainName(key: 'baseDomain', raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const domain = raw.trim().toLowerCase().replace(/\.$/, '');
  if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(domain)) {
    throw new ConfigError(SETTINGS[key], `must be a domain name such as images.example.com, got "${raw}"`);
  }
  return domain;
}

function number(key: keyof PictorOptions, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(SETTINGS[key], `must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function integer(key: keyof PictorOptions, raw: string, min: number, max: number): number {
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(SETTINGS[key], `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

const DURATION_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 24 * 3600 };

/** Durations accept plain seconds or a unit: `90s`, `30m`, `12h`, `7d`. */
function duration(key: keyof PictorOptions, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const match = /^\s*(\d+)\s*([smhd]?)\s*$/i.exec(raw);
  const seconds = match ? Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < min || seconds > max) {
    throw new ConfigError(SETTINGS[key], `must be a duration from ${min} seconds to ${max / (24 * 3600)} days, such as 3600, 90m, 12h or 7d, got "${raw}"`);
  }
  return seconds;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

/** Sizes accept plain bytes or a unit: `512mb`, `2g`. */
function bytes(key: keyof PictorOptions, raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(raw);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new ConfigError(SETTINGS[key], `must be a size such as 1048576, 512mb or 2gb, got "${raw}"`);
  return Math.floor(Number(match[1]) * unit);
}

function hostName(key: 'host' | 'adminHost', raw: string): string {
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(raw)) throw new ConfigError(SETTINGS[key], `must be a host name or IP address, got "${raw}"`);
  return raw.replace(/^\[(.*)\]$/, '$1');
}

function publicUrl(raw: string | undefined): URL | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(SETTINGS.publicUrl, `must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(SETTINGS.publicUrl, `must be an http or https URL, got "${raw}"`);
  }
  return url;
}
