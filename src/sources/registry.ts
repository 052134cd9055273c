import type { SourceStore } from '../store/stores.ts';
import { routingHosts } from './domains.ts';
import { normalizeHost, type SourceRecord } from '../store/source-record.ts';
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
  /** A change by another writer that could not be read (the store unreachable): the Sources in memory keep serving. */
  onError?: ((error: unknown) => void) | undefined;
}

const RAW_HOST_MEMO = 1024;

/**
 * The Sources in memory: routing from a Host header to a Source, and one Origin per Source, so a render finds
 * its Source without waiting on the store. A change made by this process is applied at once (`changed`); a
 * change by another writer (the CLI, another node) arrives through `SourceStore.watch` within a second and
 * reloads that Source, or all of them when the store cannot say which.
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
  /** Increases on every change: anything derived from the Sources (routes, sub-image resolution) checks it. */
  generation = 0;
  /** Reads of the store for changes by others, one after another, so an older read never lands after a newer one. */
  private reading: Promise<void> = Promise.resolve();
  private stopWatching: (() => Promise<void>) | undefined;

  private constructor(
    private readonly store: SourceStore,
    private readonly options: RegistryOptions,
    private readonly defaultSourceId: string,
  ) {}

  /** Watches the store first, then reads every Source: a change made meanwhile is read again, never missed. */
  static async open(store: SourceStore, options: RegistryOptions, defaultSourceId: string): Promise<SourceRegistry> {
    const registry = new SourceRegistry(store, options, defaultSourceId);
    registry.stopWatching = await store.watch((id) => registry.changedElsewhere(id));
    try {
      await registry.reload();
    } catch (error) {
      await registry.close();
      throw error;
    }
    return registry;
  }

  /** Stops watching the store. */
  async close(): Promise<void> {
    await this.stopWatching?.();
    this.stopWatching = undefined;
    await this.reading;
  }

  /** The Source that serves a Host header: a domain match, else the default Source. */
  forHost(hostHeader: string | undefined): ResolvedSource {
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
    return this.byHost.get(normalizeHost(host))?.at(-1);
  }

  get(id: string): ResolvedSource | undefined {
    return this.byId.get(id);
  }

  all(): ResolvedSource[] {
    return [...this.byId.values()];
  }

  /** Call after this process wrote a Source: it is re-routed at once, before the write's response is sent. */
  changed(record: SourceRecord): void {
    this.generation++;
    this.byRawHost = new Map();
    const previous = this.byId.get(record.id);
    if (previous) this.unroute(previous);
    const resolved = this.resolve(record, previous);
    if (!this.created.has(record.id)) this.created.set(record.id, this.created.size);
    this.byId.set(record.id, resolved);
    this.route(resolved);
    if (record.id === this.defaultSourceId) this.defaultSource = resolved;
  }

  /** Another writer changed the Source `id` (or something, when undefined): read it (or them all) again. */
  private changedElsewhere(id: string | undefined): void {
    this.reading = this.reading
      .then(async () => {
        const record = id === undefined ? undefined : await this.store.get(id);
        if (record) this.changed(record);
        else await this.reload();
      })
      .catch((error: unknown) => this.options.onError?.(error));
  }

  /** Reads every Source again; Origins are kept for Sources whose deployment did not change. */
  private async reload(): Promise<void> {
    const records = await this.store.all();
    this.generation++;
    const previous = this.byId;
    this.byId = new Map();
    this.byHost = new Map();
    this.created = new Map();
    this.byRawHost = new Map();
    for (const record of records) {
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
