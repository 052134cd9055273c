import { ApiKeys, type Permission } from '../../src/auth/api-keys.ts';
import { openStores } from '../../src/store/open-stores.ts';
import type { TestPictor } from '../helpers/pictor.ts';

export interface ApiResponse {
  status: number;
  headers: Headers;
  // JSON:API documents, read by the assertions as they are
  body: any;
}

/** Calls the admin API with a key: a JSON:API body as JSON, raw bytes (`Buffer`) as they are. */
export function apiCaller(t: TestPictor) {
  return async (method: string, path: string, key: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> => {
    const sent: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
    let payload: BodyInit | undefined;
    if (Buffer.isBuffer(body)) payload = new Uint8Array(body);
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      sent['content-type'] = 'application/vnd.api+json';
    }
    const response = await fetch(`${t.adminUrl}${path}`, { method, headers: { ...sent, ...headers }, body: payload });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
  };
}

/** A key with exactly these permissions, made in the server's store (as `pictor keys create` does). */
export async function createKey(t: TestPictor, permissions: Permission[]): Promise<string> {
  const stores = await openStores({ dataDir: t.dataDir });
  try {
    return (await new ApiKeys(stores.apiKeys).create(permissions.join('+'), permissions)).key;
  } finally {
    await stores.close();
  }
}
