/**
 * Headers on every answer of the render listener: renders, passed-through files, errors, 304s, ranges, video
 * outputs, data outputs (`fm=json`, `palette=css`…), `/healthz` and preflights.
 *
 * Security invariant: the render listener is never a web origin for content. It serves only media, decided by
 * their bytes (render/media-types.ts), and text it writes itself; and should a browser open an answer as a
 * document all the same, `nosniff` keeps it from guessing another type, and the policy leaves that document
 * no script, plugin, subresource, form or framing of its own, in an opaque origin (`sandbox`). Images, media
 * and stylesheets that a page loads from here are unaffected: a response's policy governs only a document.
 *
 * Kept as one constant that the header blocks include when they are built (a memory hit's block is built
 * once per derivative and tier, delivery/respond.ts), never added per request.
 */
export const RENDER_SECURITY_HEADERS: readonly string[] = [
  'x-content-type-options', 'nosniff',
  'content-security-policy', "default-src 'none'; sandbox",
];
