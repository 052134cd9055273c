import type { Command } from 'commander';
import { Pictor, type StartedPictor as Started } from '../app.ts';
import { ConfigError, resolveOptions, type PictorOptions } from '../config/options.ts';
import { SETTINGS } from '../config/settings.ts';
import { SecretKeyError } from '../store/secret-box.ts';
import { storeLocation } from '../store/open-stores.ts';
import { storeFaultReason } from '../store/store-errors.ts';
import { ListenError } from '../wiring/listeners.ts';
import { banner } from './banner.ts';
import { addSettingOptions, settingFlags } from './setting-options.ts';

/** `pictor serve`: its flags are the settings table's (config/settings.ts), each with its environment variable and default. */
export function registerServeCommand(program: Command): void {
  const serve = program.command('serve').description('start the render listener and the admin listener');
  addSettingOptions(serve, SETTINGS).action(async (parsed: Record<string, unknown>) => {
    const options = resolveOrExit(parsed);
    const pictor = new Pictor(options);
    const started = await startOrExit(pictor, options);
    // On stderr: standard output carries only the JSON log lines, so a log collector never meets the banner.
    process.stderr.write(`${banner(options, started).join('\n')}\n\n`);
    stopOnSignals(pictor);
  });
}

/** The settings, or exit status 2 with the message naming the invalid one. */
function resolveOrExit(parsed: Record<string, unknown>): PictorOptions {
  try {
    return resolveOptions(settingFlags(SETTINGS, parsed));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`pictor: ${error.message}\n`);
    process.exit(2);
  }
}

/** Starts, or exits with status 2 saying what to fix when the keys, a listener's address or the store stop the start. */
async function startOrExit(pictor: Pictor, options: PictorOptions): Promise<Started> {
  try {
    return await pictor.start();
  } catch (error) {
    if (error instanceof SecretKeyError || error instanceof ListenError) {
      process.stderr.write(`pictor: cannot start: ${error.message}\n`);
      process.exit(2);
    }
    const fault = storeFaultReason(error);
    if (fault === undefined) throw error;
    process.stderr.write(`pictor: cannot start: ${storeLocation(options)} cannot be used (${fault}). Fix that, then start again.\n`);
    process.exit(2);
  }
}

/** SIGTERM and SIGINT stop gracefully, once however many arrive. */
function stopOnSignals(pictor: Pictor): void {
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
}
