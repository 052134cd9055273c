/**
 * Purges through the admin API, as a client makes them: POST /api/v1/purge, then GET /api/v1/purges/:id until
 * the purge is no longer pending. One place for the servers of startPictor, spawnServer and startCluster.
 */
export interface PurgeDocument {
  data?: { id: string; type: string; attributes: Record<string, unknown> };
  errors?: { detail: string; status: string; title: string; id: string; source?: { pointer: string } }[];
  meta?: Record<string, unknown>;
  [key: string]: unknown;
}

/** An admin listener and a key allowed to purge. */
export interface PurgeApi {
  adminUrl: string;
  apiKey: string;
}

export interface PurgeAnswer {
  status: number;
  body: PurgeDocument;
}

export async function requestPurge(api: PurgeApi, url: string, attributes: Record<string, unknown> = {}): Promise<PurgeAnswer> {
  const response = await fetch(`${api.adminUrl}/api/v1/purge`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.apiKey}`, 'content-type': 'application/vnd.api+json' },
    body: JSON.stringify({ data: { type: 'purges', attributes: { url, ...attributes } } }),
  });
  return { status: response.status, body: (await response.json()) as PurgeDocument };
}

/** The purge's status document attributes. */
export async function purgeStatus(api: PurgeApi, id: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${api.adminUrl}/api/v1/purges/${id}`, { headers: { authorization: `Bearer ${api.apiKey}` } });
  const body = (await response.json()) as PurgeDocument;
  if (!body.data) throw new Error(`purge ${id}: ${response.status} ${JSON.stringify(body)}`);
  return body.data.attributes;
}

/**
 * Polls until the purge is no longer pending; its attributes then. The bound only turns a purge that never
 * completes into a failure (a loaded machine may take long).
 */
export async function waitForPurge(api: PurgeApi, id: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const attributes = await purgeStatus(api, id);
    if (attributes.status !== 'pending') return attributes;
    if (Date.now() > deadline) throw new Error(`purge ${id} still pending after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Purges and waits until the purge is no longer pending; throws when it is refused. */
export async function purgeAndWait(api: PurgeApi, url: string, attributes: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const { status, body } = await requestPurge(api, url, attributes);
  if (status !== 200 || !body.data) throw new Error(`purge refused: ${status} ${JSON.stringify(body)}`);
  return waitForPurge(api, body.data.id);
}
