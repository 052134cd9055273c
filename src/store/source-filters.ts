import type { SourceFilter } from './source-record.ts';

/**
 * One Sources filter as SQL, for both stores; its value is bound as `param`. Field names come from the
 * fixed list of filters, never from input. `jsonField` reads a `deployment` field in the store's dialect.
 */
export function filterCondition({ field }: SourceFilter, param: string, jsonField: (name: string) => string): string {
  if (field === 'name') return `name = ${param}`;
  if (field === 'enabled') return `enabled = ${param}`;
  if (field === 'deployment.type') return `type = ${param}`;
  if (field === 'deployment.custom_domains') return `id IN (SELECT source_id FROM source_domains WHERE kind = 'host' AND name = ${param})`;
  if (field === 'deployment.imgix_subdomains') return `id IN (SELECT source_id FROM source_domains WHERE kind = 'label' AND name = ${param})`;
  return `${jsonField(field.slice('deployment.'.length))} = ${param}`;
}
