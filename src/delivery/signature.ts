import { verifySignature } from '../auth/url-signing.ts';
import { PictorError } from '../errors.ts';
import type { ResolvedSource } from '../sources/registry.ts';

/** Secure URLs: required on Sources with `secure_url_enabled`, and always on `webproxy` Sources. */
export function requireSignature(source: ResolvedSource, request: { rawPath: string; rawQuery: string }): void {
  const { deployment, secureUrlToken } = source.record;
  if (!deployment.secure_url_enabled && deployment.type !== 'webproxy') return;
  const check = secureUrlToken ? verifySignature(secureUrlToken, request.rawPath, request.rawQuery) : 'missing';
  if (check === 'missing') throw new PictorError('INVALID_SIGNATURE', 'This Source only serves signed URLs: the "s" parameter is missing.');
  if (check === 'invalid') throw new PictorError('INVALID_SIGNATURE', 'The "s" signature does not match this URL.');
}
