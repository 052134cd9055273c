/**
 * Every setting of Pictor, declared once: its flag, its environment variable, its default, how its value is
 * parsed and checked, and how `--help` and the reference (docs/configuration.md, `npm run settings`) describe
 * it. PictorOptions, the flags of `pictor serve` and of the commands that share its settings, and the
 * reference are all made from this table; adding a setting is adding one entry.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import {
  boolean,
  bytes,
  cidrList,
  databaseUrl,
  decimal,
  directory,
  domainName,
  duration,
  existingDirectories,
  hostName,
  httpUrl,
  httpUrlText,
  integer,
  nodeId,
  oneOf,
  secretKeys,
  text,
  videoStoreLocation,
  type Parse,
} from './parsers.ts';

interface SettingText {
  /** The command-line flag; absent for a setting read only from the environment. */
  flag?: `--${string}`;
  env: `PICTOR_${string}`;
  /** Commander's value placeholder; absent for a switch (a flag without a value, which means true). */
  placeholder?: `<${string}>`;
  /** One line for `--help` (the environment variable and the default are added to it). */
  help: string;
  /** The reference's Meaning column, in Markdown. */
  meaning: string;
  /** How the default is shown when it is not its own text (Markdown): `cores + 1`, `— (none)`. */
  shownDefault?: string;
}

/** A setting with one value: `flag ?? environment ?? default`, an empty value counting as none. */
export interface SingleSetting<T> extends SettingText {
  /** The default, as text parsed like a value given; a function for one computed at start. */
  default?: string | (() => string);
  parse: Parse<T>;
}

/** A flag that may be given several times; its environment variable lists the values, `separator` between them. */
export interface RepeatedSetting<T> extends SettingText {
  repeatable: { separator: string; shownSeparator: string };
  /** The values given (none: an empty list). */
  parse: (entries: readonly string[]) => T;
}

export type Setting = SingleSetting<unknown> | RepeatedSetting<unknown>;

/** The value a setting resolves to: a setting without a default may be absent. */
export type ValueOf<S> = S extends { repeatable: object; parse: (entries: readonly string[]) => infer T }
  ? T
  : S extends { default: string | (() => string); parse: Parse<infer T> }
    ? T
    : S extends { parse: Parse<infer T> }
      ? T | undefined
      : never;

export type Values<S extends Record<string, Setting>> = { -readonly [K in keyof S]: ValueOf<S[K]> };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The settings of `pictor serve`, in the reference's order; `--data`, `--database` and others are shared with other commands. */
export const SETTINGS = {
  port: {
    flag: '--port', env: 'PICTOR_PORT', placeholder: '<port>', default: '3000', parse: integer(0, 65535),
    help: 'render listener port, 0 picks a free one',
    meaning: 'render listener port',
  },
  adminPort: {
    flag: '--admin-port', env: 'PICTOR_ADMIN_PORT', placeholder: '<port>', default: '3001', parse: integer(0, 65535),
    help: 'admin/API listener port, 0 picks a free one',
    meaning: 'admin listener (API, metrics) port',
  },
  host: {
    flag: '--host', env: 'PICTOR_HOST', placeholder: '<host>', default: '0.0.0.0', parse: hostName,
    help: 'render listener address',
    meaning: 'render listener address',
  },
  adminHost: {
    flag: '--admin-host', env: 'PICTOR_ADMIN_HOST', placeholder: '<host>', default: '127.0.0.1', parse: hostName,
    help: 'admin listener address',
    meaning: 'admin listener address',
  },
  dataDir: {
    flag: '--data', env: 'PICTOR_DATA_DIR', placeholder: '<dir>', default: './.pictor', parse: directory,
    help: 'data directory: store and caches; with --database, caches only',
    meaning:
      'SQLite store (`pictor.db`) and disk caches (`cache/`); with `--database`, only this node\'s caches (and its `secret.key` ' +
      'without `PICTOR_SECRET_KEY`)',
  },
  databaseUrl: {
    flag: '--database', env: 'PICTOR_DATABASE_URL', placeholder: '<url>', parse: databaseUrl, shownDefault: '— (SQLite under `--data`)',
    help: 'PostgreSQL shared by the nodes of a cluster, postgres://USER@HOST:PORT/DB',
    meaning:
      '`postgres://USER@HOST:PORT/DB` (or `postgresql://`): the PostgreSQL every node of a cluster shares for Sources, API keys, ' +
      'dashboard accounts and sessions, rate limits, purges, nodes and edges. Migrations run at start under an advisory lock, so ' +
      'nodes may start at once. Every node needs the same secret key (`PICTOR_SECRET_KEY`): a node whose keys cannot open the ' +
      'stored secrets stops at start and says so',
  },
  nodeId: {
    flag: '--node-id', env: 'PICTOR_NODE_ID', placeholder: '<name>', parse: nodeId, shownDefault: '`<hostname>:<render port>`',
    help: "this node's name in a cluster",
    meaning: "this node's name in a cluster (letters, digits and `. - _ : @ [ ]`, up to 128)",
  },
  nodeLeaseSeconds: {
    flag: '--node-lease', env: 'PICTOR_NODE_LEASE', placeholder: '<seconds>', default: '10', parse: integer(1, 300),
    help: 'seconds a silent node keeps its lease before it is fenced, 1 to 300',
    meaning: 'seconds (1 to 300) a node that stops renewing keeps its lease; after it the node is fenced',
  },
  serveWhenIsolated: {
    flag: '--serve-when-isolated', env: 'PICTOR_SERVE_WHEN_ISOLATED', default: 'false', parse: boolean, shownDefault: 'off',
    help: 'keep serving from the local cache while the cluster database cannot be reached, at the cost of freshness',
    meaning:
      'in a cluster, keep serving from the local cache while the database cannot be reached (see ' +
      '[Running a cluster](edges-and-cluster.md#running-a-cluster))',
  },
  assetsDir: {
    flag: '--assets', env: 'PICTOR_ASSETS_DIR', placeholder: '<dir>', default: './assets', parse: directory,
    help: 'folder served by the default Source',
    meaning: 'folder served by the default Source',
  },
  publicUrl: {
    flag: '--public-url', env: 'PICTOR_PUBLIC_URL', placeholder: '<url>', parse: httpUrl,
    help: 'public URL of the render listener; its host becomes a domain of the default Source',
    meaning: 'public URL of the render listener; its host becomes a domain of the default Source',
  },
  maxInputPixels: {
    flag: '--max-input-pixels', env: 'PICTOR_MAX_INPUT_PIXELS', placeholder: '<n>', default: '100000000', parse: integer(1, 2 ** 40),
    help: 'largest input image in pixels',
    meaning: 'largest input image, in pixels',
  },
  maxInputBytes: {
    flag: '--max-input-bytes', env: 'PICTOR_MAX_INPUT_BYTES', placeholder: '<size>', default: '100mb', parse: bytes,
    help: 'largest origin file, e.g. 100mb',
    meaning: 'largest origin file',
  },
  diskCacheBytes: {
    flag: '--disk-cache-size', env: 'PICTOR_DISK_CACHE_SIZE', placeholder: '<size>', default: '2gb', parse: bytes,
    help: 'disk cache bound, e.g. 2gb',
    meaning:
      'bound of the disk caches (least recently used evicted), counted as the space they take on disk: each file in whole blocks ' +
      'of the file system, and the directories (one per asset), so small derivatives count as what `du` shows rather than their bytes',
  },
  memoryCacheBytes: {
    flag: '--memory-cache-size', env: 'PICTOR_MEMORY_CACHE_SIZE', placeholder: '<size>', default: '256mb', parse: bytes,
    help: 'in-memory derivative tier bound, e.g. 256mb',
    meaning: 'bound of the in-memory derivative tier (see [Memory](#memory))',
  },
  masterMemoryBytes: {
    flag: '--master-memory-size', env: 'PICTOR_MASTER_MEMORY_SIZE', placeholder: '<size>', default: '128mb', parse: bytes,
    help: 'in-memory tier of origin masters, e.g. 128mb',
    meaning: 'bound of the in-memory tier of masters',
  },
  decodedMemoryBytes: {
    flag: '--decoded-memory-size', env: 'PICTOR_DECODED_MEMORY_SIZE', placeholder: '<size>', default: '128mb', parse: bytes,
    help: 'in-memory tier of decoded, pre-shrunk masters, e.g. 128mb',
    meaning:
      'bound of the in-memory tier of decoded, pre-shrunk masters (each `srcset` width is rendered from the nearest larger level ' +
      'instead of decoding the master again)',
  },
  purgeRateLimit: {
    flag: '--purge-rate-limit', env: 'PICTOR_PURGE_RATE_LIMIT', placeholder: '<n>', default: '10', parse: decimal(0.001, 1e9),
    help: 'purge requests per second per API key',
    meaning: 'purge requests per second per API key',
  },
  purgeTagMaxAssets: {
    flag: '--purge-tag-max-assets', env: 'PICTOR_PURGE_TAG_MAX_ASSETS', placeholder: '<n>', default: '10000', parse: integer(1, 100_000),
    help: 'most assets one purge by tag may match',
    meaning:
      'most assets one purge by tag may match; a tag on more is refused with `400`: purge their folder or their Source instead ' +
      '(see [Purge by tag](purge-api.md#purge-by-tag-pictor-extension))',
  },
  renderConcurrency: {
    flag: '--render-concurrency', env: 'PICTOR_RENDER_CONCURRENCY', placeholder: '<n>', parse: integer(1, 1024),
    // One libvips thread per render and one render per core (plus one to cover a render's I/O and JavaScript
    // gaps), as imgproxy does: on the cold-render bench (BENCHMARKS.md) more renders per second than fewer
    // renders of more threads each, with a lower p99; threads of one render mostly wait on each other when
    // every core is already rendering.
    default: () => String(availableParallelism() + 1),
    shownDefault: 'cores + 1',
    help: 'light renders running at once in the server process',
    meaning: 'light renders running at once in the server process (heavy ones run in render processes, one per two cores)',
  },
  renderThreads: {
    flag: '--render-threads', env: 'PICTOR_RENDER_THREADS', placeholder: '<n>', default: '1', parse: integer(1, 64),
    help: 'libvips threads per render',
    meaning:
      'libvips threads per render; renders already run one per core, so more threads per render rarely help throughput (they can ' +
      'cut the latency of a single large render on an idle server)',
  },
  renderQueueLimit: {
    flag: '--render-queue-limit', env: 'PICTOR_RENDER_QUEUE_LIMIT', placeholder: '<n>', default: '512', parse: integer(0, 1e6),
    help: 'renders waiting before 503',
    meaning: 'light renders waiting before `503` (heavy ones: four per render process)',
  },
  renderTimeoutSeconds: {
    flag: '--render-timeout', env: 'PICTOR_RENDER_TIMEOUT', placeholder: '<seconds>', default: '30', parse: integer(1, 3600),
    help: 'seconds one render may take',
    meaning: "seconds one render may take; then it is stopped (a heavy render's process is killed) and answered `503`",
  },
  renderMemoryBytes: {
    flag: '--render-memory', env: 'PICTOR_RENDER_MEMORY', placeholder: '<size>', default: '1gb', parse: bytes,
    help: 'memory renders may hold together, by their estimates, e.g. 1gb',
    meaning:
      'memory renders may hold together, by their estimates (see [Renders are budgeted](rendering.md#renders-are-budgeted); ' +
      'a heavy render\'s includes its render process); at least `--render-concurrency` × 64 MB + 64 MB. A render estimated over ' +
      "what is left after the light renders' share is refused with `413`",
  },
  purgeRetentionSeconds: {
    flag: '--purge-retention', env: 'PICTOR_PURGE_RETENTION', placeholder: '<duration>', default: '7d', parse: duration(60, 10 * 365 * 24 * 3600),
    help: 'how long purges are kept after they ended, e.g. 7d, 12h',
    meaning: 'how long purges (and the freshness marks they applied) are kept after they ended: seconds, or `90m`, `12h`, `30d`',
  },
  edgeRetrySeconds: {
    flag: '--edge-retry', env: 'PICTOR_EDGE_RETRY', placeholder: '<duration>', default: '1h', parse: duration(10, 7 * 24 * 3600),
    help: 'how long a CDN that fails a purge is tried again before the purge is reported failed, e.g. 1h',
    meaning:
      'how long a CDN edge (Cloudflare, Fastly, CloudFront) that fails a purge, or has not finished it, is tried again with backoff ' +
      'before its part of the purge is reported `failed` with the last error: seconds, or `30m`, `1h`',
  },
  edgeHealIntervalSeconds: {
    flag: '--edge-heal-interval', env: 'PICTOR_EDGE_HEAL_INTERVAL', placeholder: '<seconds>', default: '5', parse: duration(0, 3600),
    help: 'seconds between tries to flush and re-admit edges out of rotation; 0: only by hand',
    meaning:
      'how often an edge in front of Pictor (Varnish, nginx) that is out of rotation is flushed whole and, once the flush succeeded, put ' +
      'back in rotation (see [Edges heal](edges-and-cluster.md#edges-heal)); an edge whose flush fails waits twice as long each time, up ' +
      'to a minute. `0` turns it off: edges then come back only by `pictor edges readmit`',
  },
  nginxKeysMax: {
    flag: '--nginx-keys-max', env: 'PICTOR_NGINX_KEYS_MAX', placeholder: '<count>', default: '200000', parse: integer(100, 100_000_000),
    help: 'cache keys recorded per nginx edge; past it, new responses through that edge are not cached there',
    meaning:
      'how many cache keys Pictor records per nginx edge (see [CDN edges](cdn-edges.md#nginx)); a response through an edge at the bound ' +
      'is sent with `X-Accel-Expires: 0`, so the edge does not cache what Pictor could not purge, until recorded keys expire',
  },
  webhookRetrySeconds: {
    flag: '--webhook-retry', env: 'PICTOR_WEBHOOK_RETRY', placeholder: '<duration>', default: '24h', parse: duration(60, 30 * 24 * 3600),
    help: 'how long a webhook delivery is retried before it fails, e.g. 24h',
    meaning: 'how long a webhook delivery that gets no 2xx answer is retried, with exponential backoff, before it is marked `failed`',
  },
  webhookRetentionSeconds: {
    flag: '--webhook-retention', env: 'PICTOR_WEBHOOK_RETENTION', placeholder: '<duration>', default: '30d',
    parse: duration(3600, 10 * 365 * 24 * 3600),
    help: 'how long delivered and failed webhook deliveries are kept, e.g. 30d',
    meaning:
      'how long webhook deliveries that were delivered or failed are kept, with their attempts, after they ended: seconds, or `12h`, `30d`; ' +
      'pending deliveries are kept until they end',
  },
  webhookTimeoutSeconds: {
    flag: '--webhook-timeout', env: 'PICTOR_WEBHOOK_TIMEOUT', placeholder: '<seconds>', default: '10', parse: integer(1, 120),
    help: 'timeout of one webhook delivery, in seconds',
    meaning: 'seconds one webhook POST may take, connection and answer included; a slower receiver has failed that try',
  },
  logLevel: {
    flag: '--log-level', env: 'PICTOR_LOG_LEVEL', placeholder: '<level>', default: 'info', parse: oneOf(LOG_LEVELS),
    help: LOG_LEVELS.join(', ').replace(/, (?=\w+$)/, ' or '),
    meaning: 'pino level; cache hits are logged at `debug` only',
  },
  baseDomain: {
    flag: '--base-domain', env: 'PICTOR_BASE_DOMAIN', placeholder: '<domain>', parse: domainName,
    help: 'parent domain of imgix_subdomains labels',
    meaning: 'parent domain of `imgix_subdomains` labels: `shop` is served on `shop.<base domain>`',
  },
  outboundAllow: {
    flag: '--outbound-allow', env: 'PICTOR_OUTBOUND_ALLOW', placeholder: '<list>', default: '', parse: cidrList, shownDefault: '— (none)',
    help: 'IPs/CIDRs outbound fetches may reach although private, e.g. 127.0.0.1/32',
    meaning:
      'comma-separated IPs and CIDRs (`127.0.0.1/32,10.1.0.0/16`) that origin fetches of every type (`webfolder`, `webproxy`, ' +
      'sub-images, `s3`, `s3_compatible`, `gcs` endpoints) may reach although they are loopback, private, link-local or metadata addresses',
  },
  folderRoots: {
    flag: '--folder-root', env: 'PICTOR_FOLDER_ROOTS', placeholder: '<dir>',
    repeatable: { separator: path.delimiter, shownSeparator: 'separated like `PATH`: `:` on Unix' },
    parse: existingDirectories, shownDefault: 'the assets directory only',
    help: 'a directory folder Sources may serve from; the assets folder always may',
    meaning: 'existing directories that `folder` Sources may serve from; the assets directory always may',
  },
  secretKeys: {
    // A key on the command line would show in the process list: the environment only.
    env: 'PICTOR_SECRET_KEY', parse: secretKeys, shownDefault: '— (`<data>/secret.key`)',
    help: 'keys that encrypt Source secrets at rest, comma-separated; the first encrypts',
    meaning:
      'keys that encrypt Source secrets at rest: one or more comma-separated 32-byte keys, base64 or hex; the first encrypts ' +
      '(see [Security → Secrets](security.md#secrets))',
  },
  originTimeoutSeconds: {
    flag: '--origin-timeout', env: 'PICTOR_ORIGIN_TIMEOUT', placeholder: '<seconds>', default: '15', parse: integer(1, 600),
    help: 'timeout of one origin request, in seconds',
    meaning: 'seconds one origin fetch may take (all retries and redirects included)',
  },
  ffmpegPath: {
    flag: '--ffmpeg', env: 'PICTOR_FFMPEG', placeholder: '<path>', parse: text, shownDefault: 'the npm-shipped static build',
    help: 'ffmpeg for the Video API',
    meaning: 'ffmpeg for the Video API (needs libx264); checked at start, and when it does not work video requests answer `501`',
  },
  ffprobePath: {
    flag: '--ffprobe', env: 'PICTOR_FFPROBE', placeholder: '<path>', parse: text, shownDefault: 'the npm-shipped static build',
    help: 'ffprobe for the Video API',
    meaning: 'ffprobe for the Video API',
  },
  videoConcurrency: {
    // Encoding takes every core it is given; one at a time keeps image renders going on a small machine.
    flag: '--video-concurrency', env: 'PICTOR_VIDEO_CONCURRENCY', placeholder: '<n>', default: '1', parse: integer(1, 64),
    help: 'videos encoded at once',
    meaning: 'videos encoded at once (1 to 64), each at the lowest CPU priority',
  },
  videoMaxDurationSeconds: {
    flag: '--video-max-duration', env: 'PICTOR_VIDEO_MAX_DURATION', placeholder: '<duration>', default: '10m', parse: duration(1, 24 * 3600),
    help: 'longest video processed, e.g. 600, 10m',
    meaning: 'longest video processed: seconds, or `90s`, `30m`, `2h`; longer ones are answered `413`',
  },
  videoRecheckIntervalSeconds: {
    // At most 48 hours: a removal at the origin is then honoured well within the 72 hours imgix promises.
    flag: '--video-recheck-interval', env: 'PICTOR_VIDEO_RECHECK_INTERVAL', placeholder: '<duration>', default: '24h', parse: duration(1, 48 * 3600),
    shownDefault: '`24h` (86400)',
    help: 'revalidate processed videos at their origin at least this often, e.g. 86400, 24h',
    meaning:
      'a processed video is revalidated at its origin at least this often (at most `48h`): removed there → every output deleted ' +
      'and requests answer `404`; changed → encoded again (see [Timed removal](video.md#timed-removal))',
  },
  videoStore: {
    flag: '--video-store', env: 'PICTOR_VIDEO_STORE', placeholder: '<dir|s3://bucket/prefix>', parse: videoStoreLocation,
    shownDefault: '`<data>/video/assets`',
    help: 'where video outputs are kept: a directory, or s3://BUCKET/PREFIX; every node of a cluster must name the same one',
    meaning:
      'where the Video API keeps encoded outputs: a directory (default: under the data directory), or `s3://BUCKET/PREFIX` on an ' +
      'S3-compatible store. Every node of a cluster names the same one: a video is encoded once, and every node serves it ' +
      '(see [Video on a cluster](video.md#video-on-a-cluster))',
  },
  videoStoreEndpoint: {
    flag: '--video-store-endpoint', env: 'PICTOR_VIDEO_STORE_ENDPOINT', placeholder: '<url>', parse: httpUrlText, shownDefault: 'AWS',
    help: 'S3-compatible endpoint of an s3:// video store (MinIO, Ceph…)',
    meaning: 'endpoint URL of an `s3://` video store (MinIO, Ceph, SeaweedFS…; path-style addressing); AWS S3 when absent',
  },
  videoStoreRegion: {
    flag: '--video-store-region', env: 'PICTOR_VIDEO_STORE_REGION', placeholder: '<region>', default: 'us-east-1', parse: text,
    help: 'region of an s3:// video store',
    meaning: 'region of an `s3://` video store',
  },
  videoStoreAccessKeyId: {
    env: 'PICTOR_VIDEO_STORE_ACCESS_KEY_ID', parse: text, shownDefault: '— (none)',
    help: 'access key of an s3:// video store',
    meaning: 'access key ID of an `s3://` video store (environment only, like the secret)',
  },
  videoStoreSecretAccessKey: {
    env: 'PICTOR_VIDEO_STORE_SECRET_ACCESS_KEY', parse: text, shownDefault: '— (none)',
    help: 'secret key of an s3:// video store',
    meaning: 'secret access key of an `s3://` video store (environment only: never on a command line, where `ps` shows it)',
  },
} satisfies Record<string, Setting>;

/**
 * The settings of `pictor purge`, which talks to a running Pictor through its API instead of opening its
 * stores: they configure the client, not a server.
 */
export const CLIENT_SETTINGS = {
  apiUrl: {
    flag: '--api', env: 'PICTOR_API_URL', placeholder: '<url>', default: 'http://127.0.0.1:3001', parse: httpUrlText,
    help: 'admin API base URL',
    meaning: 'the admin API of the Pictor that purges are sent to',
  },
  apiKey: {
    flag: '--key', env: 'PICTOR_API_KEY', placeholder: '<key>', parse: text,
    help: 'API key with the purge permission',
    meaning: 'an API key with the `purge` permission (`pictor keys create`)',
  },
} satisfies Record<string, Setting>;

/**
 * What Pictor runs with: every setting of SETTINGS, parsed. `folderRoots` holds the assets directory first,
 * then the `--folder-root` directories; `nodeId`, when absent, becomes `<hostname>:<render port>` once the port is known.
 */
export type PictorOptions = Values<typeof SETTINGS>;

export type ClientSettings = Values<typeof CLIENT_SETTINGS>;

/** The setting's name in messages: `--port (PICTOR_PORT)`, or the environment variable alone. */
export function settingName(setting: Pick<SettingText, 'flag' | 'env'>): string {
  return setting.flag === undefined ? setting.env : `${setting.flag} (${setting.env})`;
}
