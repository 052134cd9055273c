// Resolve hook of module-log.mjs: appends each resolved URL to the file named by PICTOR_MODULE_LOG.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (process.env.PICTOR_MODULE_LOG) appendFileSync(process.env.PICTOR_MODULE_LOG, `${resolved.url}\n`);
  return resolved;
}
