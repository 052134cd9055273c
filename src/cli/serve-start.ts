import { Pictor, type StartedPictor as Started } from '../app.ts';
import type { PictorOptions } from '../config/options.ts';
import { SchemaTooNewError } from '../store/schema-version.ts';
import { SecretKeyError } from '../store/secret-box.ts';
import { storeLocation } from '../store/open-stores.ts';
import { storeFaultReason } from '../store/store-errors.ts';
import { VERSION } from '../version.ts';
import { ListenError } from '../wiring/listeners.ts';
import { banner } from './banner.ts';

/** Starts a node with these settings, prints the banner, and stops it on SIGTERM or SIGINT. */
export async function serve(options: PictorOptions): Promise<void> {
  const pictor = new Pictor(options);
  // Before the start: a signal that arrives while the node starts stops it once it has started.
  const starting = startOrExit(pictor, options);
  stopOnSignals(pictor, starting);
  const started = await starting;
  // On stderr: standard output carries only the JSON log lines, so a log collector never meets the banner.
  process.stderr.write(`${banner(options, started).join('\n')}\n\n`);
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
    if (error instanceof SchemaTooNewError) {
      process.stderr.write(`pictor: cannot start: ${storeLocation(options)} cannot be used by Pictor ${VERSION}: ${error.message}\n`);
      process.exit(2);
    }
    const fault = storeFaultReason(error);
    if (fault === undefined) throw error;
    process.stderr.write(`pictor: cannot start: ${storeLocation(options)} cannot be used (${fault}). Fix that, then start again.\n`);
    process.exit(2);
  }
}

/** SIGTERM and SIGINT stop gracefully, once however many arrive. */
function stopOnSignals(pictor: Pictor, starting: Promise<unknown>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    pictor.logger.info({ signal }, 'stopping: finishing in-flight requests and purges');
    starting.then(() => pictor.stop()).then(
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
