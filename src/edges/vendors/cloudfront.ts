import '../../node-support.ts';
import { createHash } from 'node:crypto';
import { CloudFrontClient, CreateInvalidationCommand, GetInvalidationCommand, type Invalidation } from '@aws-sdk/client-cloudfront';
import { guardedNodeAgents } from '../../sources/outbound-guard.ts';
import type { EdgeDriver, EdgeOrder, EdgeOutcome } from '../edge-driver.ts';
import { clip, DEFAULT_VENDOR_TIMEOUT_MS, unansweredOutcome, type VendorDriverOptions } from './vendor-http.ts';
import { attributesOf, optionalEndpoint, requiredId, requiredSecret } from './vendor-settings.ts';

export interface CloudFrontSettings {
  distributionId: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The API's base URL; AWS's own when absent. */
  endpoint?: string | undefined;
}

/**
 * The most wildcard paths one distribution may have in invalidations in progress; every path Pictor sends is
 * a wildcard, so this also bounds one invalidation.
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#limits-invalidations
 */
export const CLOUDFRONT_MAX_WILDCARD_PATHS = 15;

/** Codes CloudFront answers for a state that passes: too much in progress, or its API rate. */
const TRANSIENT_CODES = new Set([
  'TooManyInvalidationsInProgress',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
]);

/** `attributes` of a `cloudfront` edge → its settings; a 400 pointing at the field that is missing or wrong. */
export function parseCloudFrontSettings(input: unknown): CloudFrontSettings {
  const attributes = attributesOf(input);
  return {
    distributionId: requiredId(attributes, 'distribution_id', /^[A-Z0-9]{1,64}$/, "the distribution's ID (such as E2QWRUHAPOMQZL)"),
    accessKeyId: requiredId(attributes, 'access_key_id', /^[A-Z0-9]{16,128}$/, 'an AWS access key ID (capital letters and digits, such as AKIA…)'),
    secretAccessKey: requiredSecret(attributes, 'secret_access_key', 'the secret access key of that access key ID'),
    endpoint: optionalEndpoint(attributes),
  };
}

/**
 * Purges a CloudFront distribution by path, through the official SDK. CloudFront has no tags, so a purge is
 * one `CreateInvalidation` of the public paths its scopes cover (`invalidationPaths`), answered `pending` with
 * the invalidation's id; `poll` asks `GetInvalidation` until its status is `Completed` (`purged`).
 *
 * Idempotent: the CallerReference is the order's id, so the repeat of a purge (after a crash, a lost answer)
 * gets the invalidation already made instead of a second one, billed again. Should that reference already name
 * an invalidation of other paths (a database started afresh reuses ids), CloudFront refuses it
 * (`InvalidationBatchAlreadyExists`, or `InvalidArgument` about the caller reference): the driver then sends
 * the same paths under a reference derived from the id and the paths, which is as idempotent.
 *
 * Security: the SDK connects only through the agents of `guardedNodeAgents` (sources/outbound-guard.ts), so an
 * `endpoint` on a private address is refused before the request is signed and sent, unless `--outbound-allow`
 * admits it; credentials are only the edge's own (no environment, file or instance-role chain).
 */
export class CloudFrontDriver implements EdgeDriver {
  private readonly client: CloudFrontClient;
  private readonly timeoutMs: number;

  constructor(
    private readonly settings: CloudFrontSettings,
    options: VendorDriverOptions,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_VENDOR_TIMEOUT_MS;
    this.client = new CloudFrontClient({
      region: 'us-east-1',
      ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      // One attempt per try: retries, and their backoff, belong to the purge that owns the edge.
      maxAttempts: 1,
      requestHandler: {
        ...guardedNodeAgents(options.outboundAllow, options.resolve ? { resolve: options.resolve } : {}),
        connectionTimeout: this.timeoutMs,
        requestTimeout: this.timeoutMs,
      },
    });
  }

  async purge(order: EdgeOrder): Promise<EdgeOutcome> {
    const paths = invalidationPaths(order.urls);
    if (paths.length === 0) return { state: 'purged' };
    try {
      return await this.create(order.id, paths);
    } catch (error) {
      if (!isReferenceTaken(error)) return sdkOutcome(error);
      const reference = `${order.id}#${createHash('sha256').update(paths.join('\n')).digest('hex').slice(0, 16)}`;
      return this.create(reference, paths).catch(sdkOutcome);
    }
  }

  async poll(vendorId: string): Promise<EdgeOutcome> {
    try {
      const command = new GetInvalidationCommand({ DistributionId: this.settings.distributionId, Id: vendorId });
      const answer = await this.client.send(command, this.signal());
      return invalidationOutcome(answer.Invalidation);
    } catch (error) {
      return sdkOutcome(error);
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }

  private async create(reference: string, paths: string[]): Promise<EdgeOutcome> {
    const command = new CreateInvalidationCommand({
      DistributionId: this.settings.distributionId,
      InvalidationBatch: { CallerReference: reference, Paths: { Quantity: paths.length, Items: paths } },
    });
    const answer = await this.client.send(command, this.signal());
    return invalidationOutcome(answer.Invalidation);
  }

  private signal(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.timeoutMs) };
  }
}

function invalidationOutcome(invalidation: Invalidation | undefined): EdgeOutcome {
  if (invalidation?.Id === undefined) return { state: 'retry', error: 'CloudFront answered without an invalidation id' };
  return invalidation.Status === 'Completed' ? { state: 'purged' } : { state: 'pending', vendorId: invalidation.Id };
}

/** Whether CloudFront refused a CallerReference it already holds for other paths. */
function isReferenceTaken(error: unknown): boolean {
  const { name, message } = error as { name?: unknown; message?: unknown };
  if (name === 'InvalidationBatchAlreadyExists') return true;
  return name === 'InvalidArgument' && typeof message === 'string' && /caller reference/i.test(message);
}

/**
 * An SDK error as an outcome: no answer, `5xx`, throttling and too many invalidations in progress are
 * transient; every other answer (access denied, bad signature, unknown distribution) is CloudFront refusing.
 */
function sdkOutcome(error: unknown): EdgeOutcome {
  const { name, message, $metadata } = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  if (status === undefined) return unansweredOutcome('CloudFront', error);
  const text = clip(`CloudFront answered ${status}: ${name ?? 'Error'}: ${message ?? ''}`.trim());
  if (TRANSIENT_CODES.has(name ?? '') || status === 429 || status >= 500) return { state: 'retry', error: text };
  return { state: 'failed', error: text };
}

/** Characters CloudFront wants percent-encoded in a path; `*` too, since unencoded it would be a wildcard. */
const UNSAFE = /[^A-Za-z0-9\-._~!$&'()+,;=:@/%]/gu;

/**
 * The invalidation paths of an order's URL spaces: each as `<path>*`, prefix and exact alike, because the `*`
 * covers every derivative's query string (a whole Source, `/`, becomes `/*`). Paths are taken as they appear in
 * the public URL (already percent-encoded); characters CloudFront needs encoded are encoded.
 *
 * Beyond `CLOUDFRONT_MAX_WILDCARD_PATHS` the paths are collapsed, not split: the deepest are replaced by their
 * folder until the rest fit, down to `/*` at worst. Split invalidations would count against the same limit of
 * wildcards in progress and be refused; one covering invalidation purges more than asked — which costs only
 * refetches from Pictor — and is billed for fewer paths. Sorted, so the same order always gives the same batch.
 */
export function invalidationPaths(urls: EdgeOrder['urls']): string[] {
  let prefixes = uncovered(urls.map((url) => encodePath(url.path)));
  while (prefixes.length > CLOUDFRONT_MAX_WILDCARD_PATHS) {
    const deepest = Math.max(...prefixes.map(depth));
    prefixes = uncovered(prefixes.map((prefix) => (depth(prefix) === deepest ? parentFolder(prefix) : prefix)));
  }
  return prefixes.map((prefix) => `${prefix}*`);
}

function encodePath(path: string): string {
  const absolute = path.startsWith('/') ? path : `/${path}`;
  return absolute.replace(UNSAFE, (char) => encodeURIComponent(char).replace(/\*/g, '%2A'));
}

/** Each prefix once, without those another one covers, sorted. */
function uncovered(prefixes: readonly string[]): string[] {
  const sorted = [...new Set(prefixes)].sort();
  return sorted.filter((prefix) => !sorted.some((other) => other !== prefix && prefix.startsWith(other)));
}

function depth(prefix: string): number {
  return prefix.split('/').length - (prefix.endsWith('/') ? 1 : 0);
}

/** `/a/b/c.jpg` → `/a/b/`; `/a/b/` → `/a/`; `/` stays `/`. */
function parentFolder(prefix: string): string {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return trimmed.slice(0, trimmed.lastIndexOf('/') + 1) || '/';
}
