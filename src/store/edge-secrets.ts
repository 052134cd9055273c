import { sealedKeyId, type SecretBox } from './secret-box.ts';

/**
 * An edge's secrets at rest (API tokens, AWS secret keys), sealed with the same keys and the same SecretBox as
 * Source secrets (source-secrets.ts): the column holds a JSON object of `enc:v1:…` values only.
 *
 * Security invariant: each value is bound to its field and its edge (`context`), so a sealed token copied into
 * another edge's row does not open there.
 */
export function sealEdgeSecrets(name: string, secrets: Record<string, string>, box: SecretBox): string {
  const sealed: Record<string, string> = {};
  for (const [field, value] of Object.entries(secrets)) sealed[field] = box.seal(value, edgeSecretContext(name, field));
  return JSON.stringify(sealed);
}

/** The stored secrets of an edge, opened (a JSON object, or the object PostgreSQL's JSONB gives). */
export function openEdgeSecrets(name: string, stored: string | Record<string, string>, box: SecretBox): Record<string, string> {
  const values = typeof stored === 'string' ? (JSON.parse(stored) as Record<string, string>) : stored;
  const opened: Record<string, string> = {};
  for (const [field, value] of Object.entries(values)) opened[field] = box.open(value, edgeSecretContext(name, field));
  return opened;
}

/** The ids of the keys that sealed stored edge secrets (without opening them). */
export function edgeSealingKeyIds(rows: Iterable<string | Record<string, string>>): Set<string> {
  const ids = new Set<string>();
  for (const stored of rows) {
    const values = typeof stored === 'string' ? (JSON.parse(stored) as Record<string, string>) : stored;
    for (const value of Object.values(values)) {
      const id = sealedKeyId(value);
      if (id !== undefined) ids.add(id);
    }
  }
  return ids;
}

function edgeSecretContext(name: string, field: string): string {
  return `${field} of edge ${name}`;
}

/**
 * An edge's stored secrets sealed again with the current key, when any is sealed with an older one (a key
 * rotation, `SourceStore.sealAll`); undefined when every one is current already. Every value is opened on the
 * way, current or not, so that a rotation proves the keys (a SecretKeyError otherwise) as it does for Sources.
 */
export function resealEdgeSecrets(name: string, stored: string | Record<string, string>, box: SecretBox): string | undefined {
  const values = typeof stored === 'string' ? (JSON.parse(stored) as Record<string, string>) : stored;
  const opened = openEdgeSecrets(name, values, box);
  if (Object.values(values).every((value) => sealedKeyId(value) === box.currentKeyId)) return undefined;
  return sealEdgeSecrets(name, opened, box);
}
