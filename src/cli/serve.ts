import type { Command } from 'commander';
import { ConfigError, resolveOptions, type PictorOptions } from '../config/options.ts';
import { SETTINGS } from '../config/settings.ts';
import { addSettingOptions, settingFlags } from './setting-options.ts';

/** `pictor serve`: its flags are the settings table's (config/settings.ts), each with its environment variable and default. */
export function registerServeCommand(program: Command): void {
  const serve = program.command('serve').description('start the render listener and the admin listener');
  addSettingOptions(serve, SETTINGS).action(async (parsed: Record<string, unknown>) => {
    const options = resolveOrExit(parsed);
    // The server's modules (sharp, fastify, the S3 client…) are loaded only for `serve`: other commands start fast.
    const { serve: run } = await import('./serve-start.ts');
    await run(options);
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
