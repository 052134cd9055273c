import { randomBytes } from 'node:crypto';
import type { SourceStore } from '../store/source-store.ts';
import { routingHosts } from './domains.ts';
import { DEFAULT_DEPLOYMENT, normalizeHost, type SourceRecord } from './model.ts';
import type { Origin } from './origin.ts';
import { createOrigin } from './origin-factory.ts';

export interface ResolvedSource {
  record: SourceRecord;
  origin: Origin;
}

export interface RegistryOptions {
  assetsDir: string;
  publicUrl: URL | undefined;
  maxInputBytes: number;
  /** IPs and CIDRs that fetches of every remote type may reach although private (`--outbound-allow`). */
  outboundAllow: string[];
  /** Real paths a `folder` Source's folder must lie inside (`--folder-root`, and the assets directory). */
  folderRoots: readonly string[];
  /** Bound of one origin fetch, in seconds (`--origin-timeout`). */
  originTimeoutSeconds: number;
  /** Parent domain of `imgix_subdomains` labels: the label `shop` routes `shop.<baseDomain>`. */
  baseDomain?: string | undefined;
  /**
   * Wraps every Origin (undici-style interceptor): for embedding Pictor with cross-cutting behaviour
   * such as auditing origin reads. Tests use it to count and hold origin reads.
   */
  originInterceptor?: ((origin: Origin, source: SourceRecord) => Origin) | undefined;
}

const RAW_HOST_MEMO = 1024;

/** Loopback names always served by the default Source, so `npm start` works at http://localhost:3000/. */
const LOOPBACK_DOMAINS = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The Sources in memory: routing from a Host header to a Source, and one Origin per Source. A change made by
 * this process is applied to that one Source (`changed`); a change by another process (the CLI, say, editing
 * Sources while a server runs) is seen within a second and reloads them all.
 */
export class SourceRegistry {
  private byId = new Map<string, ResolvedSource>();
  /**
   * Host → the Sources served on it, in creation order; the last one serves. Domains are unique across
   * Sources, but databases may hold overlaps from before a check existed (or a `--public-url` host that a
   * Source already had): then the newer Source keeps serving the host, and the older one takes over if the
   * newer lets the host go.
   */
  private byHost = new Map<string, ResolvedSource[]>();
  /** Each Source's place in creation order, for `byHost`. */
  private created = new Map<string, number>();
  /** Host headers as received → Source, so a request skips normalising its Host. Client input: bounded. */
  private byRawHost = new Map<string, ResolvedSource>();
  private defaultSource: ResolvedSource | undefined;
  private seenVersion = -1;
  /** Increases on every change: anything derived from the Sources (routes, sub-image resolution) checks it. */
  generation = 0;
  private checkedAt = 0;

  constructor(
    private readonly store: SourceStore,
    private readonly options: RegistryOptions,
    private readonly defaultSourceId: string,
  ) {
    this.reload();
  }

  /**
   * Creates the default folder Source on first start, and keeps its folder and domains in step with the
   * options on later starts. Returns its id.
   */
  static ensureDefaultSource(store: SourceStore, options: RegistryOptions, existingId: string | undefined): string {
    const existing = existingId === undefined ? undefined : store.get(existingId);
    const domains = [...LOOPBACK_DOMAINS];
    if (options.publicUrl) domains.push(normalizeHost(options.publicUrl.host));
    const record: SourceRecord = existing ?? {
      id: randomBytes(12).toString('hex'),
      name: 'default',
      enabled: true,
      secureUrlToken: undefined,
      dateDeployed: Math.floor(Date.now() / 1000),
      deployment: { ...DEFAULT_DEPLOYMENT, type: 'folder' },
    };
    const customDomains = [...new Set([...domains, ...record.deployment.custom_domains])];
    const wanted: SourceRecord = { ...record, deployment: { ...record.deployment, folder_path: options.assetsDir, custom_domains: customDomains } };
    // Unchanged, nothing is written: a server can start on a full disk when it has nothing new to record.
    if (!existing || JSON.stringify(existing) !== JSON.stringify(wanted)) store.upsert(wanted);
    return record.id;
  }

  /** The Source that serves a Host header: a domain match, else the default Source. */
  forHost(hostHeader: string | undefined): ResolvedSource {
    this.refreshIfChanged();
    if (hostHeader === undefined) return this.defaultSource!;
    const known = this.byRawHost.get(hostHeader);
    if (known) return known;
    const source = this.byHost.get(normalizeHost(hostHeader))?.at(-1) ?? this.defaultSource!;
    if (this.byRawHost.size >= RAW_HOST_MEMO) this.byRawHost.clear();
    this.byRawHost.set(hostHeader, source);
    return source;
  }

  /** The Source whose domains include this host, or undefined (purges never fall back to the default). */
  forDomain(host: string): ResolvedSource | undefined {
    this.refreshIfChanged();
    return this.byHost.get(normalizeHost(host))?.at(-1);
  }

  get(id: string): ResolvedSource | undefined {
    this.refreshIfChanged();
    return this.byId.get(id);
  }

  all(): ResolvedSource[] {
    this.refreshIfChanged();
    return [...this.byId.values()];
  }

  /** At most once a second: a Source edited by another process is seen within a second. */
  private refreshIfChanged(): void {
    const now = Date.now();
    if (now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    if (this.store.dataVersion() !== this.seenVersion) this.reload();
  }

  /**
   * Call after this process changed a Source: only that Source is read again and re-routed, unless another
   * process has written meanwhile, then every Source is.
   */
  changed(id: string): void {
    if (this.store.dataVersion() !== this.seenVersion) return this.reload();
    const record = this.store.get(id);
    if (!record) return this.reload();
    this.generation++;
    this.byRawHost = new Map();
    const previous = this.byId.get(id);
    if (previous) this.unroute(previous);
    const resolved = this.resolve(record, previous);
    if (!this.created.has(id)) this.created.set(id, this.created.size);
    this.byId.set(id, resolved);
    this.route(resolved);
    if (id === this.defaultSourceId) this.defaultSource = resolved;
  }

  /** Reads every Source again; Origins are kept for Sources whose deployment did not change. */
  private reload(): void {
    this.generation++;
    this.seenVersion = this.store.dataVersion();
    const previous = this.byId;
    this.byId = new Map();
    this.byHost = new Map();
    this.created = new Map();
    this.byRawHost = new Map();
    for (const record of this.store.all()) {
      const resolved = this.resolve(record, previous.get(record.id));
      this.created.set(record.id, this.created.size);
      this.byId.set(record.id, resolved);
      this.route(resolved);
    }
    this.defaultSource = this.byId.get(this.defaultSourceId);
  }

  private resolve(record: SourceRecord, previous: ResolvedSource | undefined): ResolvedSource {
    const same = previous && JSON.stringify(previous.record.deployment) === JSON.stringify(record.deployment);
    return { record, origin: same ? previous.origin : this.createOrigin(record) };
  }

  private route(source: ResolvedSource): void {
    const position = this.created.get(source.record.id)!;
    for (const host of new Set(routingHosts(source.record.deployment, this.options.baseDomain))) {
      const sources = this.byHost.get(host);
      if (!sources) {
        this.byHost.set(host, [source]);
        continue;
      }
      const at = sources.findIndex((other) => this.created.get(other.record.id)! > position);
      sources.splice(at === -1 ? sources.length : at, 0, source);
    }
  }

  private unroute(source: ResolvedSource): void {
    for (const host of routingHosts(source.record.deployment, this.options.baseDomain)) {
      const sources = this.byHost.get(host)?.filter((other) => other !== source);
      if (sources && sources.length > 0) this.byHost.set(host, sources);
      else this.byHost.delete(host);
    }
  }

  private createOrigin(record: SourceRecord): Origin {
    const origin = this.createBaseOrigin(record);
    return this.options.originInterceptor ? this.options.originInterceptor(origin, record) : origin;
  }

  /** A misconfigured Source gets an Origin that fails with the reason, so one bad Source cannot stop the others. */
  private createBaseOrigin(record: SourceRecord): Origin {
    try {
      return createOrigin(record, {
        maxInputBytes: this.options.maxInputBytes,
        outboundAllow: this.options.outboundAllow,
        timeoutSeconds: this.options.originTimeoutSeconds,
        assetsDir: this.options.assetsDir,
        folderRoots: this.options.folderRoots,
      });
    } catch (error) {
      return { fetch: () => Promise.reject(error) };
    }
  }
}
