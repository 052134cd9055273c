import { randomBytes, timingSafeEqual } from 'node:crypto';
import { html, type SafeHtml } from './html.ts';

/** The hidden field every dashboard form carries. */
export const CSRF_FIELD = '_csrf';
/**
 * Before sign-in there is no session: the sign-in form is protected by a double-submit token instead
 * (a short-lived cookie, the same value in the form), so another site cannot sign a browser in.
 */
export const SIGN_IN_CSRF_COOKIE = 'pictor_sign_in';

export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;
}

/** Constant-time comparison of the token expected with the one the form sent. */
export function csrfMatches(expected: string | undefined, given: string | null | undefined): boolean {
  if (!expected || typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
