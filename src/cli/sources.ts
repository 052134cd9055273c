import path from 'node:path';
import type { Command } from 'commander';
import { resolveSourceSettings, type SourceSettings } from '../config/options.ts';
import { SETTINGS } from '../config/settings.ts';
import { isPictorError } from '../errors.ts';
import { subdomainHost } from '../sources/domains.ts';
import type { Deployment, SourceRecord, SourceType } from '../store/source-record.ts';
import { SOURCE_TYPES, sourceResource } from '../sources/source-document.ts';
import type { SourceService } from '../sources/source-service.ts';
import { addSettingOptions, settingFlags } from './setting-options.ts';
import { storeOptions, withStores, type StoreFlags, type StoreUse } from './stores.ts';

interface SourceFlags {
  name?: string;
  type?: string;
  folderPath?: string;
  baseUrl?: string;
  bucket?: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  domain?: string[];
  subdomain?: string[];
  secure?: boolean;
  enable?: boolean;
  disable?: boolean;
  data?: string;
  database?: string;
  folderRoot?: string[];
}

/** The type-neutral flags, and the `deployment` field each one sets for each type. */
const TYPED_FLAGS: Record<string, { flag: string; fields: Partial<Record<SourceType, keyof Deployment>> }> = {
  folderPath: { flag: '--folder-path', fields: { folder: 'folder_path' } },
  baseUrl: { flag: '--base-url', fields: { webfolder: 'webfolder_base_url' } },
  bucket: { flag: '--bucket', fields: { s3: 's3_bucket', s3_compatible: 'bucket_name', gcs: 'gcs_bucket' } },
  prefix: { flag: '--prefix', fields: { s3: 's3_prefix', s3_compatible: 'prefix', gcs: 'gcs_prefix' } },
  region: { flag: '--region', fields: { s3: 'region', s3_compatible: 'region', gcs: 'region' } },
  endpoint: { flag: '--endpoint', fields: { s3: 'endpoint', s3_compatible: 'endpoint', gcs: 'endpoint' } },
  accessKey: { flag: '--access-key', fields: { s3: 's3_access_key', s3_compatible: 'access_key', gcs: 'gcs_access_key' } },
  secretKey: { flag: '--secret-key', fields: { s3: 's3_secret_key', s3_compatible: 'secret_key', gcs: 'gcs_secret_key' } },
};

/** For error messages: the flag behind a field the service names. */
const FLAG_OF_FIELD: Record<string, string> = {
  name: '--name',
  enabled: '--enable/--disable',
  type: '--type',
  custom_domains: '--domain',
  imgix_subdomains: '--subdomain',
  secure_url_enabled: '--secure',
  ...Object.fromEntries(Object.values(TYPED_FLAGS).flatMap(({ flag, fields }) => Object.values(fields).map((field) => [field, flag]))),
};

/**
 * Works on the stores `serve` uses (see stores.ts), whether or not a server is running on them; a running
 * server sees the change within a second. Folders are checked against the folder roots given here
 * (`--folder-root`, PICTOR_FOLDER_ROOTS) and secrets sealed with the server's keys (PICTOR_SECRET_KEY, else
 * the data directory's key file), as `serve` does. Errors are the API's, with the flag to fix named.
 */
async function withSources<T>(flags: StoreFlags & { folderRoot?: string[] }, use: (sources: SourceService) => Promise<T>, how?: StoreUse): Promise<T> {
  const { baseDomain, folderRoots } = sourceSettings(flags);
  // The outbound guard's HTTP client comes with the service: loaded by these commands only.
  const { SourceService } = await import('../sources/source-service.ts');
  try {
    return await withStores(flags, (stores) => use(new SourceService(stores.sources, { baseDomain, folderRoots })), how);
  } catch (error) {
    if (!isPictorError(error)) throw error;
    const field = error.pointer?.split('/').at(-1);
    const flag = field === undefined ? undefined : FLAG_OF_FIELD[field];
    throw new Error(flag ? `${error.message.replace(/\.$/, '')} (${flag}).` : error.message);
  }
}

/**
 * The settings shared with the server on these stores, resolved as `serve` does: its folder roots
 * (`--folder-root`, PICTOR_FOLDER_ROOTS, and PICTOR_ASSETS_DIR) and its base domain (PICTOR_BASE_DOMAIN, for
 * the uniqueness check of subdomain labels).
 */
function sourceSettings(flags: StoreFlags & { folderRoot?: string[] }): SourceSettings {
  return resolveSourceSettings(settingFlags(SETTINGS, { ...flags }, ['folderRoots']));
}

/** Flags → API attributes. `type` is the Source's type after the change (typed flags map through it). */
function attributesFrom(flags: SourceFlags, type: string | undefined): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  const deployment: Record<string, unknown> = {};
  if (flags.name !== undefined) attributes.name = flags.name;
  if (flags.enable && flags.disable) throw new Error('give --enable or --disable, not both');
  if (flags.enable || flags.disable) attributes.enabled = Boolean(flags.enable);
  if (flags.type !== undefined) deployment.type = flags.type;
  for (const [key, { flag, fields }] of Object.entries(TYPED_FLAGS)) {
    const value = flags[key as keyof SourceFlags];
    if (value === undefined) continue;
    const field = type === undefined ? undefined : fields[type as SourceType];
    if (field === undefined) throw new Error(`${flag} does not apply to a ${type ?? 'Source without a --type'} Source`);
    deployment[field] = key === 'folderPath' ? path.resolve(value as string) : value;
  }
  if (flags.domain !== undefined) deployment.custom_domains = flags.domain;
  if (flags.subdomain !== undefined) deployment.imgix_subdomains = flags.subdomain;
  if (flags.secure !== undefined) deployment.secure_url_enabled = flags.secure;
  if (Object.keys(deployment).length > 0) attributes.deployment = deployment;
  return attributes;
}

function print(record: SourceRecord): string {
  return JSON.stringify(sourceResource(record), null, 2);
}

function withSourceOptions(command: Command): Command {
  storeOptions(command)
    .option('--folder-path <dir>', 'folder: the directory served')
    .option('--base-url <url>', 'webfolder: the origin URL paths are appended to')
    .option('--bucket <name>', 's3, s3_compatible, gcs: the bucket')
    .option('--prefix <prefix>', 's3, s3_compatible, gcs: a key prefix')
    .option('--region <region>', 's3, s3_compatible, gcs: the region')
    .option('--endpoint <url>', 's3, s3_compatible, gcs: an S3-compatible endpoint URL')
    .option('--access-key <key>', 's3, s3_compatible, gcs: the access key id')
    .option('--secret-key <secret>', 's3, s3_compatible, gcs: the secret key (stored, never printed)')
    .option('--domain <host...>', 'custom domains (replace the list)')
    .option('--subdomain <label...>', 'imgix_subdomains labels, served as <label>.<base domain> (replace the list)')
    .option('--secure', 'sign URLs (secure_url_enabled); a token is created and printed')
    .option('--no-secure', 'stop requiring signed URLs');
  return addSettingOptions(command, SETTINGS, ['folderRoots']);
}

export function registerSourcesCommands(program: Command): void {
  const sources = program.command('sources').description('manage Sources (the same rules as the Sources API)');

  storeOptions(sources.command('list').description('list Sources (secrets are never shown)'))
    .option('--json', 'print the Sources as the API returns them')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const { records } = await withSources(flags, (service) => service.list(), { readOnly: true });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(records.map((record) => sourceResource(record)), null, 2)}\n`);
        return;
      }
      const base = sourceSettings(flags).baseDomain;
      const rows = records.map((record) => {
        const labels = record.deployment.imgix_subdomains.map((label) => (base ? subdomainHost(label, base) : `${label}.<base domain>`));
        const domains = [...record.deployment.custom_domains, ...labels].join(',') || '-';
        return [record.id, record.name, record.deployment.type, record.enabled ? 'deployed' : 'disabled', domains].join('\t');
      });
      process.stdout.write(`${['ID\tNAME\tTYPE\tSTATUS\tDOMAINS', ...rows].join('\n')}\n`);
    });

  withSourceOptions(
    sources
      .command('add')
      .description('create a Source; prints it as JSON, and its id as the last line')
      .requiredOption('--name <name>', 'a name to recognise the Source by')
      .requiredOption('--type <type>', SOURCE_TYPES.join(', ')),
  ).action(async (flags: SourceFlags) => {
    const attributes = attributesFrom(flags, flags.type);
    const record = await withSources(flags, (service) => service.create(attributes));
    process.stdout.write(`${print(record)}\n${record.id}\n`);
  });

  withSourceOptions(
    sources
      .command('update <id>')
      .description('change a Source: given flags replace, the rest is kept; prints it as JSON')
      .option('--name <name>', 'a new name')
      .option('--type <type>', `a new type (${SOURCE_TYPES.join(', ')}), with its required flags`)
      .option('--enable', 'serve the Source again')
      .option('--disable', 'stop serving the Source (cached renders may still be served)'),
  ).action(async (id: string, flags: SourceFlags) => {
    const record = await withSources(flags, async (service) => service.update(id, attributesFrom(flags, flags.type ?? (await service.require(id)).deployment.type)));
    process.stdout.write(`${print(record)}\n`);
  });
}
