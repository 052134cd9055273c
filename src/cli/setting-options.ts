/**
 * The flags of settings, made from the settings table (config/settings.ts): each with its placeholder, its
 * help line (environment variable and default included), repeatable or a switch as declared. Commander only
 * collects what was given; the values are resolved and checked by config/options.ts, so a flag, its
 * environment variable and its default follow the same rules in every command.
 */
import { Option, type Command } from 'commander';
import type { RawFlags } from '../config/options.ts';
import { helpLine } from '../config/reference.ts';
import type { Setting } from '../config/settings.ts';
import { collect } from './flags.ts';

/** Adds the flags of the given settings (all of them by default) to a command, in the table's order. */
export function addSettingOptions<S extends Record<string, Setting>>(
  command: Command,
  settings: S,
  keys: readonly (keyof S & string)[] = Object.keys(settings),
): Command {
  const environmentOnly: Setting[] = [];
  for (const key of keys) {
    const setting = settings[key]!;
    if (setting.flag === undefined) {
      environmentOnly.push(setting);
      continue;
    }
    const option = new Option(setting.placeholder === undefined ? setting.flag : `${setting.flag} ${setting.placeholder}`, helpLine(setting));
    if ('repeatable' in setting) option.argParser(collect);
    command.addOption(option);
  }
  if (environmentOnly.length > 0) command.addHelpText('after', () => environmentHelp(command, environmentOnly));
  return command;
}

/** Settings without a flag, listed after the options so that `--help` shows every setting the command reads. */
function environmentHelp(command: Command, settings: readonly Setting[]): string {
  const help = command.createHelp();
  help.prepareContext({ helpWidth: command.configureOutput().getOutHelpWidth?.() });
  const width = Math.max(...settings.map((setting) => setting.env.length));
  const items = settings.map((setting) => help.formatItem(setting.env, width, helpLine(setting, { env: false }), help));
  return `\nEnvironment only:\n${items.join('\n')}`;
}

/** The values commander parsed for these settings, keyed by setting (the input of the resolve functions). */
export function settingFlags<S extends Record<string, Setting>>(
  settings: S,
  parsed: Record<string, unknown>,
  keys: readonly (keyof S & string)[] = Object.keys(settings),
): RawFlags<S> {
  const flags: RawFlags<S> = {};
  for (const key of keys) {
    const flag = settings[key]!.flag;
    if (flag !== undefined) flags[key] = parsed[new Option(flag).attributeName()] as RawFlags<S>[typeof key];
  }
  return flags;
}
