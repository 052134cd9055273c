import { randomBytes } from 'node:crypto';
import { PictorError } from '../errors.ts';
import type { DomainClaim, SourceStore } from '../store/stores.ts';
import { routingHosts, subdomainHost } from './domains.ts';
import { FOLDER_ROOTS_SETTING, judgeFolder } from './folder-roots.ts';
import type { Deployment, SourceRecord } from '../store/source-record.ts';
import type { OutboundPreflight } from './outbound-guard.ts';
import { badRequest, mergeDeployment, parseSourceAttributes } from './source-document.ts';
import { storedFilter, type SourceQuery } from './source-query.ts';

export interface SourceServiceOptions {
  /** Real paths of the directories a `folder` Source may serve (options.ts `folderRoots`). */
  folderRoots: readonly string[];
  /** Parent domain of `imgix_subdomains` labels; their hosts then count in the domain uniqueness check. */
  baseDomain?: string | undefined;
  /** After every write by this process (the server reloads its registry here, so routing changes at once). */
  onChanged?: ((record: SourceRecord) => void) | undefined;
  /**
   * After an update that asked for `purge_derivatives: true` was saved: the place to wire a whole-Source
   * purge. Without it, such an update is refused (before anything is written) rather than silently half-done.
   */
  onRenderingChanged?: ((sourceId: string) => void | Promise<void>) | undefined;
  /**
   * The outbound guard's rules (`--outbound-allow`), asked when a Source is saved: a remote origin the guard
   * will refuse is saved all the same, with a warning (`outboundWarning`). Without it, no warning is given.
   */
  outbound?: OutboundPreflight | undefined;
  /** Unix seconds; tests may pin it. */
  now?: () => number;
}

export interface SourcePage {
  records: SourceRecord[];
  /** Sources matching the filters, over all pages. */
  totalRecords: number;
}

/**
 * Creates, reads, lists and updates Sources: one implementation for the Management API and the CLI.
 * Attributes arrive as sent (imgix's field names) and are validated here; every problem is a 400 whose
 * JSON:API pointer names the field.
 */
export class SourceService {
  private readonly now: () => number;

  constructor(
    private readonly store: SourceStore,
    private readonly options: SourceServiceOptions,
  ) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  /** `POST /api/v1/sources`: `name` and `deployment.type` (with the type's required fields) are needed. */
  async create(attributes: unknown): Promise<SourceRecord> {
    const changes = parseSourceAttributes(attributes, 'create');
    const deployment = mergeDeployment(undefined, changes.deployment ?? {});
    this.checkFolder(deployment);
    const created: SourceRecord = {
      id: randomBytes(12).toString('hex'),
      name: changes.name!,
      enabled: changes.enabled ?? true,
      deployment,
      secureUrlToken: deployment.secure_url_enabled ? newToken() : undefined,
      dateDeployed: this.now(),
    };
    const record = await this.store.saveChecked(created.id, () => ({ record: created, claims: this.domainClaims(created, undefined) }));
    this.options.onChanged?.(record);
    return record;
  }

  get(id: string): Promise<SourceRecord | undefined> {
    return this.store.get(id);
  }

  /** The Source, or a 404. */
  async require(id: string): Promise<SourceRecord> {
    return found(id, await this.store.get(id));
  }

  /** Filters, then sorts (ties in creation order), then cuts the page when one is asked for. */
  async list(query: Partial<SourceQuery> = {}): Promise<SourcePage> {
    const page = query.page && { offset: Math.min(query.page.number * query.page.size, Number.MAX_SAFE_INTEGER), limit: query.page.size };
    const { records, total } = await this.store.list({ filters: (query.filters ?? []).map(storedFilter), sort: query.sort ?? [], page });
    return { records, totalRecords: total };
  }

  /**
   * `PATCH /api/v1/sources/:id`: attributes present replace, `deployment` is merged field by field,
   * read-only attributes are ignored, `date_deployed` is refreshed. Turning secure URLs on creates a token
   * if the Source has none (turning them off keeps it, hidden, for when they are turned on again).
   */
  async update(id: string, attributes: unknown): Promise<SourceRecord> {
    const changes = parseSourceAttributes(attributes, 'update');
    const record = await this.store.saveChecked(id, (stored) => {
      const current = found(id, stored);
      if (changes.purgeDerivatives && !this.options.onRenderingChanged) {
        throw badRequest('"purge_derivatives" is not available in this Pictor yet; save the change without it, then purge the affected assets.', 'purge_derivatives');
      }
      const deployment = changes.deployment ? mergeDeployment(current.deployment, changes.deployment) : current.deployment;
      // A folder named by this write is checked; one stored before (perhaps by an older version) is refused when served.
      if (changes.deployment?.folder_path !== undefined || current.deployment.type !== deployment.type) this.checkFolder(deployment);
      const next: SourceRecord = {
        ...current,
        name: changes.name ?? current.name,
        enabled: changes.enabled ?? current.enabled,
        deployment,
        secureUrlToken: current.secureUrlToken ?? (deployment.secure_url_enabled ? newToken() : undefined),
        dateDeployed: this.now(),
      };
      return { record: next, claims: this.domainClaims(next, current) };
    });
    this.options.onChanged?.(record);
    if (changes.purgeDerivatives) await this.options.onRenderingChanged!(record.id);
    return record;
  }

  /**
   * Why the outbound guard will refuse every fetch of this Source (its `webfolder_base_url`, or the custom
   * `endpoint` of a storage type, at an address `--outbound-allow` does not admit), said where it was saved;
   * undefined when it will not, or cannot tell in time.
   */
  async outboundWarning(record: SourceRecord): Promise<string | undefined> {
    const d = record.deployment;
    const field = d.type === 'webfolder' ? 'webfolder_base_url' : d.type === 's3' || d.type === 's3_compatible' || d.type === 'gcs' ? 'endpoint' : undefined;
    const value = field === undefined ? undefined : d[field];
    if (!this.options.outbound || !value) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return undefined;
    }
    const refused = await this.options.outbound.refusal(url);
    if (!refused) return undefined;
    const where = refused.address === url.hostname.replace(/^\[(.*)\]$/, '$1') ? refused.address : `${url.hostname} (${refused.address})`;
    return (
      `Saved, but nothing of this Source can be fetched: its "deployment.${field}" is at ${where}, not a public address (${refused.reason}), ` +
      `so the outbound guard refuses it (403). If this origin is intended, start Pictor with --outbound-allow ${refused.address} (or a range that covers it).`
    );
  }

  /** A folder Source's folder exists and lies inside a folder root allowed at start, symlinks resolved. */
  private checkFolder(deployment: Deployment): void {
    if (deployment.type !== 'folder' || deployment.folder_path === undefined) return;
    const folder = deployment.folder_path;
    const field = 'deployment.folder_path';
    const verdict = judgeFolder(folder, this.options.folderRoots);
    switch (verdict.kind) {
      case 'allowed':
        return;
      case 'outside': {
        const leads = verdict.leadsTo === undefined ? '' : ` (its real path is ${verdict.leadsTo})`;
        throw badRequest(`"${field}" must be inside a folder root allowed at start (${FOLDER_ROOTS_SETTING}): ${folder} is not${leads}.`, field);
      }
      default:
        throw badRequest(`"${field}" must be an existing directory, and "${folder}" is not one.`, field);
    }
  }

  /**
   * Domains are unique across Sources: a label may serve one Source, and a host (custom domain, or
   * `<label>.<base domain>`) too. Only what this write adds is claimed, so an old clash never blocks
   * unrelated edits. The store checks each claim in the transaction that writes, so it still holds at commit.
   */
  private domainClaims(next: SourceRecord, previous: SourceRecord | undefined): DomainClaim[] {
    const base = this.options.baseDomain;
    const previousLabels = new Set(previous?.deployment.imgix_subdomains ?? []);
    const previousHosts = new Set(previous ? routingHosts(previous.deployment, base) : []);
    const newLabels = next.deployment.imgix_subdomains.filter((label) => !previousLabels.has(label));
    const newHosts = routingHosts({ custom_domains: next.deployment.custom_domains, imgix_subdomains: [] }, base).filter((host) => !previousHosts.has(host));
    const claims: DomainClaim[] = newLabels.map((label) => {
      const host = base === undefined ? undefined : subdomainHost(label, base);
      return {
        label,
        host,
        refuse: (owner) =>
          badRequest(
            `"deployment.imgix_subdomains": "${label}"${host ? ` (${host})` : ''} is already a domain of the Source "${owner.name}" (${owner.id}).`,
            'deployment.imgix_subdomains',
          ),
      };
    });
    for (const host of newHosts) {
      // Another Source's label serves this host when it is `<label>.<base domain>`.
      const label = base !== undefined && host.endsWith(`.${base}`) ? host.slice(0, -base.length - 1) : undefined;
      claims.push({
        label,
        host,
        refuse: (owner) => badRequest(`"deployment.custom_domains": "${host}" is already a domain of the Source "${owner.name}" (${owner.id}).`, 'deployment.custom_domains'),
      });
    }
    return claims;
  }
}

function found(id: string, record: SourceRecord | undefined): SourceRecord {
  if (!record) throw new PictorError('NOT_FOUND', `No Source has the id "${id}".`);
  return record;
}

/** 128 random bits, hex: the secret that signs a Source's URLs (`s`). */
function newToken(): string {
  return randomBytes(16).toString('hex');
}
