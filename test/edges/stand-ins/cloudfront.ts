/**
 * A stand-in for CloudFront's invalidation API (REST/XML, version 2020-05-31), as documented at
 * https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html,
 * https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_GetInvalidation.html,
 * https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_InvalidationBatch.html and
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html (read 2026-12-07).
 *
 * - `POST /2020-05-31/distribution/{id}/invalidation` with an `InvalidationBatch` → `201`, `Location` and the
 *   `Invalidation` (`InProgress`); `GET /2020-05-31/distribution/{id}/invalidation/{inv}` → the `Invalidation`,
 *   `Completed` after `completeAfterPolls` reads of it (or `completeAfterMs`).
 * - Signature Version 4 (service `cloudfront`, region `us-east-1`) is checked with the secret key: an unknown
 *   key is `InvalidClientTokenId`, a wrong signature `SignatureDoesNotMatch` (both 403).
 * - CallerReference: the same reference and paths answer the invalidation already made; the same reference
 *   with other paths is refused, as `InvalidArgument` (400, what CloudFront is seen to answer) or, when
 *   asked, `InvalidationBatchAlreadyExists` (409, what its reference documents).
 * - Limits: at most 15 wildcard paths and 3,000 paths in invalidations in progress
 *   (`TooManyInvalidationsInProgress`, 400); `Quantity` must match the items (`InconsistentQuantities`); every
 *   path starts with `/` and has `*` only at its end (`InvalidArgument`); the API rate is a token bucket
 *   (`Throttling`, 400).
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type http from 'node:http';
import { startStandInServer, TokenBucket, type RecordedRequest, type StandInServer } from './stand-in-server.ts';

const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';
const MAX_WILDCARDS_IN_PROGRESS = 15;
const MAX_PATHS_IN_PROGRESS = 3000;

export interface CloudFrontStandInOptions {
  distributionId: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Reads of an invalidation (GetInvalidation) after which it is `Completed` (default 2). */
  completeAfterPolls?: number;
  /** Or the time after which it is `Completed`, whichever comes first. */
  completeAfterMs?: number;
  /** How a CallerReference reused for other paths is refused (default `InvalidArgument`). */
  referenceConflict?: 'InvalidArgument' | 'InvalidationBatchAlreadyExists';
  bucket?: { size: number; refillPerSecond: number };
}

export interface StoredInvalidation {
  id: string;
  reference: string;
  paths: string[];
  created: number;
  polls: number;
  status: 'InProgress' | 'Completed';
}

export interface CloudFrontStandIn extends StandInServer {
  endpoint: string;
  invalidations: StoredInvalidation[];
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startCloudFrontStandIn(options: CloudFrontStandInOptions): Promise<CloudFrontStandIn> {
  const invalidations: StoredInvalidation[] = [];
  const bucket = new TokenBucket(options.bucket?.size ?? 100, options.bucket?.refillPerSecond ?? 10);

  const refresh = (invalidation: StoredInvalidation): void => {
    const old = options.completeAfterMs !== undefined && Date.now() - invalidation.created >= options.completeAfterMs;
    if (invalidation.polls >= (options.completeAfterPolls ?? 2) || old) invalidation.status = 'Completed';
  };

  const create = (request: RecordedRequest): [number, string, Record<string, string>] => {
    const batch = parseBatch(request.body);
    const same = invalidations.find((entry) => entry.reference === batch.reference);
    if (same !== undefined) {
      if (same.paths.join('\n') === batch.paths.join('\n')) return [201, invalidationXml(same), {}];
      if (options.referenceConflict === 'InvalidationBatchAlreadyExists') {
        const message = 'The CallerReference you attempted to create the invalidation batch with is already in use.';
        throw new ApiError(409, 'InvalidationBatchAlreadyExists', message);
      }
      const message = 'Your request contains a caller reference that was used for a previous invalidation batch for the same distribution.';
      throw new ApiError(400, 'InvalidArgument', message);
    }
    invalidations.forEach(refresh);
    const inProgress = invalidations.filter((entry) => entry.status === 'InProgress').flatMap((entry) => entry.paths);
    const wildcards = [...inProgress, ...batch.paths].filter((path) => path.endsWith('*')).length;
    if (wildcards > MAX_WILDCARDS_IN_PROGRESS || inProgress.length + batch.paths.length > MAX_PATHS_IN_PROGRESS) {
      const message = 'Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations.';
      throw new ApiError(400, 'TooManyInvalidationsInProgress', message);
    }
    const stored: StoredInvalidation = {
      id: `I${randomBytes(7).toString('hex').toUpperCase()}`,
      reference: batch.reference,
      paths: batch.paths,
      created: Date.now(),
      polls: 0,
      status: 'InProgress',
    };
    invalidations.push(stored);
    const location = `https://cloudfront.amazonaws.com/2020-05-31/distribution/${options.distributionId}/invalidation/${stored.id}`;
    return [201, invalidationXml(stored), { location }];
  };

  const get = (id: string): [number, string, Record<string, string>] => {
    const stored = invalidations.find((entry) => entry.id === id);
    if (stored === undefined) throw new ApiError(404, 'NoSuchInvalidation', 'The specified invalidation does not exist.');
    stored.polls += 1;
    refresh(stored);
    return [200, invalidationXml(stored), {}];
  };

  const handle = (request: RecordedRequest, response: http.ServerResponse): void => {
    try {
      checkSignature(request, options);
      if (!bucket.take()) throw new ApiError(400, 'Throttling', 'Rate exceeded');
      const route = /^\/2020-05-31\/distribution\/([^/?]+)\/invalidation(?:\/([^/?]+))?$/.exec(request.path.split('?')[0]!);
      if (route === null) throw new ApiError(404, 'UnknownOperationException', `No operation at ${request.method} ${request.path}`);
      if (route[1] !== options.distributionId) throw new ApiError(404, 'NoSuchDistribution', 'The specified distribution does not exist.');
      let answer: [number, string, Record<string, string>];
      if (request.method === 'POST' && route[2] === undefined) answer = create(request);
      else if (request.method === 'GET' && route[2] !== undefined) answer = get(route[2]);
      else throw new ApiError(405, 'MethodNotAllowed', `${request.method} is not allowed here`);
      sendXml(response, ...answer);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      sendError(response, error.status, error.code, error.message);
    }
  };

  const outage = (status: number, response: http.ServerResponse): void => sendError(response, status, 'ServiceUnavailable', 'Service Unavailable');
  const server = await startStandInServer(handle, outage);
  return { ...server, endpoint: server.origin, invalidations };
}

function sendXml(response: http.ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  response
    .writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomBytes(16).toString('hex'), ...headers })
    .end(`<?xml version="1.0"?>\n${xml}`);
}

function sendError(response: http.ServerResponse, status: number, code: string, message: string): void {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  const xml = `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
  sendXml(response, status, `${xml}<RequestId>${randomBytes(16).toString('hex')}</RequestId></ErrorResponse>`);
}

function invalidationXml(entry: StoredInvalidation): string {
  const items = entry.paths.map((path) => `<Path>${escapeXml(path)}</Path>`).join('');
  const batch = `<InvalidationBatch><Paths><Quantity>${entry.paths.length}</Quantity><Items>${items}</Items></Paths>`;
  const reference = `<CallerReference>${escapeXml(entry.reference)}</CallerReference></InvalidationBatch>`;
  const head = `<Id>${entry.id}</Id><Status>${entry.status}</Status><CreateTime>${new Date(entry.created).toISOString()}</CreateTime>`;
  return `<Invalidation xmlns="${NS}">${head}${batch}${reference}</Invalidation>`;
}

/** The CallerReference and paths of an `InvalidationBatch` document, validated as CloudFront does. */
function parseBatch(xml: string): { reference: string; paths: string[] } {
  const one = (tag: string): string | undefined => new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1];
  const reference = one('CallerReference');
  const quantity = one('Quantity');
  if (!/<InvalidationBatch[\s>]/.test(xml) || reference === undefined || quantity === undefined) {
    throw new ApiError(400, 'MalformedInput', 'Could not parse the InvalidationBatch document.');
  }
  if (reference.trim() === '') throw new ApiError(400, 'InvalidArgument', 'CallerReference must not be empty.');
  const paths = [...xml.matchAll(/<Path>([\s\S]*?)<\/Path>/g)].map((match) => unescapeXml(match[1]!));
  if (Number(quantity) !== paths.length) {
    throw new ApiError(400, 'InconsistentQuantities', "The value of Quantity and the size of Items don't match.");
  }
  if (paths.length === 0) throw new ApiError(400, 'InvalidArgument', 'Your request must contain at least one path.');
  for (const path of paths) {
    if (!path.startsWith('/') || path.slice(0, -1).includes('*')) {
      throw new ApiError(400, 'InvalidArgument', `Your request contains one or more invalid invalidation paths: ${path}`);
    }
  }
  return { reference: unescapeXml(reference), paths };
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => XML_ENTITIES[char]!);
}

function unescapeXml(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&(lt|gt|quot|apos);/g, (entity) => ({ '&lt;': '<', '&gt;': '>', '&quot;': '"', '&apos;': "'" })[entity]!)
    .replace(/&amp;/g, '&');
}

/**
 * Checks a Signature Version 4 `Authorization` header by signing the request again with the known secret:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
function checkSignature(request: RecordedRequest, options: CloudFrontStandInOptions): void {
  const header = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;
  const match = header.exec(String(request.headers.authorization ?? ''));
  if (match === null) throw new ApiError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
  const [, accessKeyId, date, region, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== options.accessKeyId) throw new ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const [path = '', query = ''] = request.path.split('?');
  const canonicalQuery = query === '' ? '' : query.split('&').sort().join('&');
  const headers = signedHeaders!.split(';').map((name) => `${name}:${String(request.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payload = sha256(request.body);
  const declared = request.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== payload) {
    throw new ApiError(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 does not match.');
  }
  const canonical = [request.method, path, canonicalQuery, headers, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${options.secretAccessKey}`, date!);
  for (const part of [region!, service!, 'aws4_request']) key = hmac(key, part);
  if (createHmac('sha256', key).update(toSign).digest('hex') !== signature || service !== 'cloudfront') {
    const message =
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';
    throw new ApiError(403, 'SignatureDoesNotMatch', message);
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
