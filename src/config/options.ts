/**
 * Every setting (settings.ts) is resolved once, at start, as `flag ?? environment ?? default`, and validated
 * up front: an invalid value stops Pictor with a message that names the setting (never a surprise at request
 * time). This module and settings.ts are the only readers of the environment; an environment variable that
 * looks like a setting but is none is ignored, as any other variable.
 */
import fs from 'node:fs';
import { hostname } from 'node:os';
import { InvalidValue } from './parsers.ts';
import { HEAVY_RENDER_BYTES, lightReserve } from './render-budget.ts';
import {
  CLIENT_SETTINGS,
  SETTINGS,
  settingName,
  type ClientSettings,
  type PictorOptions,
  type Setting,
  type ValueOf,
  type Values,
} from './settings.ts';

export type { ClientSettings, PictorOptions } from './settings.ts';

/** A setting's value as given on the command line (or by a test): text, a number, a switch's `true`, a repeated flag's list. */
export type RawValue = string | number | boolean | readonly string[] | undefined;

/** Flags as parsed, keyed like the settings; a repeatable flag may also be one string separated like its environment variable. */
export type RawFlags<S extends Record<string, Setting>> = Partial<Record<keyof S, RawValue>>;

export type RawOptions = RawFlags<typeof SETTINGS>;

export class ConfigError extends Error {
  constructor(setting: Pick<Setting, 'flag' | 'env'>, message: string) {
    super(`Invalid configuration: ${settingName(setting)} ${message}`);
    this.name = 'ConfigError';
  }
}

/** Resolves flags (already parsed) over the environment over the defaults, and validates every value. */
export function resolveOptions(flags: RawOptions = {}, env: NodeJS.ProcessEnv = process.env): PictorOptions {
  const options = resolveAll(SETTINGS, flags, env);
  checkRenderMemory(options, flags, env);
  return { ...options, folderRoots: withAssetsDir(options.assetsDir, options.folderRoots) };
}

export type StoreSettings = Pick<PictorOptions, 'dataDir' | 'databaseUrl' | 'secretKeys'>;

/**
 * Where the stores are, as `serve` resolves it: every CLI command that reads or writes them (`keys`,
 * `sources`, `admin`, `secrets`, `edges`) opens the same ones with the same flags and environment.
 */
export function resolveStoreSettings(flags: Pick<RawOptions, 'dataDir' | 'databaseUrl'> = {}, env: NodeJS.ProcessEnv = process.env): StoreSettings {
  return resolveSome(SETTINGS, ['dataDir', 'databaseUrl', 'secretKeys'], flags, env);
}

export type SourceSettings = Pick<PictorOptions, 'folderRoots' | 'secretKeys' | 'baseDomain'>;

/**
 * The settings the `sources` commands share with `serve`, resolved by the same rules: they write Sources
 * without a server, so they check folders, subdomain labels and encrypt secrets as it does.
 */
export function resolveSourceSettings(flags: Pick<RawOptions, 'folderRoots'> = {}, env: NodeJS.ProcessEnv = process.env): SourceSettings {
  const settings = resolveSome(SETTINGS, ['assetsDir', 'folderRoots', 'secretKeys', 'baseDomain'], flags, env);
  return { folderRoots: withAssetsDir(settings.assetsDir, settings.folderRoots), secretKeys: settings.secretKeys, baseDomain: settings.baseDomain };
}

/** The settings of `pictor purge` (CLIENT_SETTINGS). */
export function resolveClientSettings(flags: RawFlags<typeof CLIENT_SETTINGS> = {}, env: NodeJS.ProcessEnv = process.env): ClientSettings {
  return resolveAll(CLIENT_SETTINGS, flags, env);
}

/** The default node id: this machine's name and the render listener's port (known once it listens). */
export function defaultNodeId(renderPort: number): string {
  return `${hostname()}:${renderPort}`;
}

function resolveAll<S extends Record<string, Setting>>(settings: S, flags: RawFlags<S>, env: NodeJS.ProcessEnv): Values<S> {
  return resolveSome(settings, Object.keys(settings) as (keyof S & string)[], flags, env) as Values<S>;
}

function resolveSome<S extends Record<string, Setting>, K extends keyof S & string>(
  settings: S,
  keys: readonly K[],
  flags: RawFlags<S>,
  env: NodeJS.ProcessEnv,
): Pick<Values<S>, K> {
  return Object.fromEntries(keys.map((key) => [key, resolveSetting(settings[key]!, flags[key], env)])) as Pick<Values<S>, K>;
}

/** One setting: `flag ?? environment ?? default`, parsed; an invalid value throws a ConfigError naming the setting. */
function resolveSetting<S extends Setting>(setting: S, flag: RawValue, env: NodeJS.ProcessEnv): ValueOf<S> {
  try {
    if ('repeatable' in setting) return setting.parse(entriesOf(setting, flag, env)) as ValueOf<S>;
    const raw = rawText(setting, flag, env);
    return (raw === undefined ? undefined : setting.parse(raw)) as ValueOf<S>;
  } catch (error) {
    if (error instanceof InvalidValue) throw new ConfigError(setting, error.message);
    throw error;
  }
}

/** The text a one-value setting is parsed from: the flag, else the environment, else the default (an empty value counts as none). */
function rawText(setting: Setting, flag: RawValue, env: NodeJS.ProcessEnv): string | undefined {
  const given = nonEmpty(flag) ?? nonEmpty(env[setting.env]);
  if (given !== undefined) return given;
  if ('repeatable' in setting || setting.default === undefined) return undefined;
  return typeof setting.default === 'function' ? setting.default() : setting.default;
}

/** A repeatable setting's values: the flag's (a list, or one string separated like the environment), else the environment's. */
function entriesOf(setting: Setting & { repeatable: { separator: string } }, flag: RawValue, env: NodeJS.ProcessEnv): readonly string[] {
  if (Array.isArray(flag)) return flag as readonly string[];
  return (nonEmpty(flag) ?? env[setting.env])?.split(setting.repeatable.separator) ?? [];
}

function nonEmpty(value: RawValue): string | undefined {
  return value === undefined || value === '' ? undefined : String(value);
}

/** The render memory budget holds the light renders' share and at least one heavy render (render-budget.ts). */
function checkRenderMemory(options: Pick<PictorOptions, 'renderConcurrency' | 'renderMemoryBytes'>, flags: RawOptions, env: NodeJS.ProcessEnv): void {
  const least = lightReserve(options.renderConcurrency) + HEAVY_RENDER_BYTES;
  if (options.renderMemoryBytes >= least) return;
  throw new ConfigError(
    SETTINGS.renderMemoryBytes,
    `must be at least ${Math.ceil(least / 1024 ** 2)}mb with ${options.renderConcurrency} renders at once (--render-concurrency), ` +
      `got "${rawText(SETTINGS.renderMemoryBytes, flags.renderMemoryBytes, env)}"`,
  );
}

/**
 * The folder roots Pictor runs with: the assets directory first (always allowed, the default Source serves
 * it), then the others. It may not exist yet (it is then served as empty): its resolved path stands in for its real one.
 */
function withAssetsDir(assetsDir: string, roots: readonly string[]): string[] {
  let assets = assetsDir;
  try {
    assets = fs.realpathSync(assetsDir);
  } catch {
    // Not there yet.
  }
  return [assets, ...roots.filter((root) => root !== assets)];
}
