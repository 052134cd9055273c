import type { Command } from 'commander';
import { Pictor } from '../app.ts';
import { ConfigError, DEFAULTS, resolveOptions } from '../config/options.ts';
import { SecretKeyError } from '../store/secret-box.ts';
import { describeUrl } from '../store/postgres/stores.ts';
import { storeFaultReason } from '../store/store-errors.ts';
import { collect } from './flags.ts';
import { nodeSupportNotice } from '../node-support.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('start the render listener and the admin listener')
    .option('--port <port>', `render listener port, 0 picks a free one (env PICTOR_PORT, default ${DEFAULTS.port})`)
    .option('--admin-port <port>', `admin/API listener port (env PICTOR_ADMIN_PORT, default ${DEFAULTS.adminPort})`)
    .option('--host <host>', `render listener address (env PICTOR_HOST, default ${DEFAULTS.host})`)
    .option('--admin-host <host>', `admin listener address (env PICTOR_ADMIN_HOST, default ${DEFAULTS.adminHost})`)
    .option('--data <dir>', `data directory: store and caches (env PICTOR_DATA_DIR, default ${DEFAULTS.dataDir}); with --database, caches only`)
    .option('--database <url>', 'PostgreSQL shared by the nodes of a cluster, postgres://USER@HOST:PORT/DB (env PICTOR_DATABASE_URL); else SQLite under --data')
    .option('--node-id <name>', "this node's name in a cluster (env PICTOR_NODE_ID, default <hostname>:<render port>)")
    .option('--node-lease <seconds>', `seconds a silent node keeps its lease before it is fenced, 1 to 300 (env PICTOR_NODE_LEASE, default ${DEFAULTS.nodeLeaseSeconds})`)
    .option('--serve-when-isolated', 'keep serving from the local cache while the cluster database cannot be reached, at the cost of freshness (env PICTOR_SERVE_WHEN_ISOLATED)')
    .option('--assets <dir>', `folder served by the default Source (env PICTOR_ASSETS_DIR, default ${DEFAULTS.assetsDir})`)
    .option('--public-url <url>', 'public URL of the render listener; its host becomes a domain of the default Source (env PICTOR_PUBLIC_URL)')
    .option('--max-input-pixels <n>', `largest input image in pixels (env PICTOR_MAX_INPUT_PIXELS, default ${DEFAULTS.maxInputPixels})`)
    .option('--max-input-bytes <size>', 'largest origin file, e.g. 100mb (env PICTOR_MAX_INPUT_BYTES)')
    .option('--disk-cache-size <size>', 'disk cache bound, e.g. 2gb (env PICTOR_DISK_CACHE_SIZE)')
    .option('--memory-cache-size <size>', 'in-memory derivative tier bound, e.g. 256mb (env PICTOR_MEMORY_CACHE_SIZE)')
    .option('--master-memory-size <size>', 'in-memory tier of origin masters, e.g. 128mb (env PICTOR_MASTER_MEMORY_SIZE)')
    .option('--decoded-memory-size <size>', 'in-memory tier of decoded, pre-shrunk masters, e.g. 128mb (env PICTOR_DECODED_MEMORY_SIZE)')
    .option('--render-concurrency <n>', `renders running at once (env PICTOR_RENDER_CONCURRENCY, default ${DEFAULTS.renderConcurrency}: cores + 1)`)
    .option('--render-threads <n>', `libvips threads per render (env PICTOR_RENDER_THREADS, default ${DEFAULTS.renderThreads})`)
    .option('--render-queue-limit <n>', `renders waiting before 503 (env PICTOR_RENDER_QUEUE_LIMIT, default ${DEFAULTS.renderQueueLimit})`)
    .option('--render-memory <size>', 'memory renders may hold together, by their estimates, e.g. 1gb (env PICTOR_RENDER_MEMORY)')
    .option('--render-timeout <seconds>', `seconds one render may take (env PICTOR_RENDER_TIMEOUT, default ${DEFAULTS.renderTimeoutSeconds})`)
    .option('--purge-rate-limit <n>', `purge requests per second per API key (env PICTOR_PURGE_RATE_LIMIT, default ${DEFAULTS.purgeRateLimit})`)
    .option('--outbound-allow <list>', 'IPs/CIDRs outbound fetches may reach although private, e.g. 127.0.0.1/32 (env PICTOR_OUTBOUND_ALLOW)')
    .option('--base-domain <domain>', 'parent domain of imgix_subdomains labels (env PICTOR_BASE_DOMAIN)')
    .option('--purge-retention <duration>', 'how long purges are kept after they ended, e.g. 7d, 12h (env PICTOR_PURGE_RETENTION, default 7d)')
    .option('--origin-timeout <seconds>', 'timeout of one origin request (env PICTOR_ORIGIN_TIMEOUT, default 15)')
    .option('--folder-root <dir>', 'a directory folder Sources may serve from, repeatable; the assets folder always may (env PICTOR_FOLDER_ROOTS)', collect)
    .option('--ffmpeg <path>', 'ffmpeg for the Video API (env PICTOR_FFMPEG, default the one the npm package ships)')
    .option('--ffprobe <path>', 'ffprobe for the Video API (env PICTOR_FFPROBE, default the one the npm package ships)')
    .option('--video-concurrency <n>', `videos encoded at once (env PICTOR_VIDEO_CONCURRENCY, default ${DEFAULTS.videoConcurrency})`)
    .option('--video-recheck-interval <duration>', 'revalidate processed videos at their origin at least this often, e.g. 86400, 24h (env PICTOR_VIDEO_RECHECK_INTERVAL, default 24h)')
    .option('--video-max-duration <duration>', 'longest video processed, e.g. 600, 10m (env PICTOR_VIDEO_MAX_DURATION, default 10m)')
    .option('--log-level <level>', `fatal, error, warn, info, debug, trace or silent (env PICTOR_LOG_LEVEL, default ${DEFAULTS.logLevel})`)
    .action(async (flags: Record<string, string | undefined> & { folderRoot?: string[] }) => {
      let options;
      try {
        options = resolveOptions({
          port: flags.port,
          adminPort: flags.adminPort,
          host: flags.host,
          adminHost: flags.adminHost,
          dataDir: flags.data,
          assetsDir: flags.assets,
          publicUrl: flags.publicUrl,
          maxInputPixels: flags.maxInputPixels,
          maxInputBytes: flags.maxInputBytes,
          diskCacheBytes: flags.diskCacheSize,
          memoryCacheBytes: flags.memoryCacheSize,
          masterMemoryBytes: flags.masterMemorySize,
          decodedMemoryBytes: flags.decodedMemorySize,
          renderConcurrency: flags.renderConcurrency,
          renderThreads: flags.renderThreads,
          renderQueueLimit: flags.renderQueueLimit,
          renderTimeoutSeconds: flags.renderTimeout,
          renderMemoryBytes: flags.renderMemory,
          purgeRateLimit: flags.purgeRateLimit,
          logLevel: flags.logLevel,
          outboundAllow: flags.outboundAllow,
          baseDomain: flags.baseDomain,
          originTimeoutSeconds: flags.originTimeout,
          purgeRetentionSeconds: flags.purgeRetention,
          folderRoots: flags.folderRoot,
          databaseUrl: flags.database,
          nodeId: flags.nodeId,
          nodeLeaseSeconds: flags.nodeLease,
          serveWhenIsolated: flags.serveWhenIsolated === undefined ? undefined : 'true',
          ffmpegPath: flags.ffmpeg,
          ffprobePath: flags.ffprobe,
          videoConcurrency: flags.videoConcurrency,
          videoMaxDurationSeconds: flags.videoMaxDuration,
          videoRecheckIntervalSeconds: flags.videoRecheckInterval,
        });
      } catch (error) {
        if (error instanceof ConfigError) {
          process.stderr.write(`pictor: ${error.message}\n`);
          process.exit(2);
        }
        throw error;
      }
      const pictor = new Pictor(options);
      let started;
      try {
        started = await pictor.start();
      } catch (error) {
        if (error instanceof SecretKeyError) {
          process.stderr.write(`pictor: cannot start: ${error.message}\n`);
          process.exit(2);
        }
        const fault = storeFaultReason(error);
        if (fault !== undefined) {
          const store = options.databaseUrl === undefined ? `the store in ${options.dataDir}` : `the database ${describeUrl(options.databaseUrl)}`;
          process.stderr.write(`pictor: cannot start: ${store} cannot be used (${fault}). Fix that, then start again.\n`);
          process.exit(2);
        }
        throw error;
      }
      const lines = [
        '',
        `  Pictor is serving ${options.assetsDir}`,
        `  Render URL: ${started.renderUrl}/`,
        `  Admin URL:  ${started.adminUrl}/`,
        `  Dashboard:  ${started.adminUrl}/dashboard/`,
        `  Video:      ${started.video}`,
      ];
      const notice = nodeSupportNotice();
      if (notice) lines.push('', `  ${notice}`);
      if (started.firstApiKey) {
        lines.push('', '  An admin API key was created on this first start. It is shown only once; keep it safe:', `  API key: ${started.firstApiKey}`);
      }
      if (started.firstAdminPassword) {
        lines.push(
          '',
          '  The dashboard account "admin" was created with this password, shown only once (change it with `pictor admin set-password`):',
          `  Dashboard password: ${started.firstAdminPassword}`,
        );
      }
      // On stderr: standard output carries only the JSON log lines, so a log collector never meets the banner.
      process.stderr.write(`${lines.join('\n')}\n\n`);

      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        pictor.logger.info({ signal }, 'stopping: finishing in-flight requests and purges');
        pictor.stop().then(
          () => {
            pictor.logger.info({ signal }, 'stopped');
            pictor.logger.flush(() => process.exit(0));
          },
          (error: unknown) => {
            pictor.logger.error({ err: error }, 'unclean stop');
            pictor.logger.flush(() => process.exit(1));
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
