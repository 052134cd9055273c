/**
 * What keeping something in memory really costs, for the byte bounds of the in-memory tiers. A bound that
 * counts payload bytes alone is no bound for many small entries: the objects around a small image cost
 * more than the image. The per-object figures are estimates on the generous side; a test holds them to
 * what V8 and the allocator actually spend.
 */

/** A Buffer: its JS object, the ArrayBuffer and the backing-store bookkeeping behind it. */
const BUFFER_OBJECT_BYTES = 320;

/** A string's header in V8; the characters come on top (one byte each for the ASCII keys used here). */
const STRING_HEADER_BYTES = 24;

/** Bytes that keeping `buffer` costs: the whole backing store (a view keeps all of it alive) and its objects. */
export function bufferBytes(buffer: Buffer): number {
  return buffer.buffer.byteLength + BUFFER_OBJECT_BYTES;
}

export function stringBytes(text: string): number {
  return STRING_HEADER_BYTES + text.length;
}

/** A copy that owns exactly its bytes, in memory V8 allocated and accounts for. */
export function exactCopy(buffer: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(buffer.length);
  buffer.copy(copy);
  return copy;
}

/**
 * `buffer` itself, or an exact copy when it is a small view into a much larger allocation that keeping it
 * would pin whole: a slice of Node's shared pool (small `Buffer.from` and `Buffer.concat` results), or a
 * small body read together with its file header.
 */
export function compact(buffer: Buffer): Buffer {
  return buffer.buffer.byteLength > 2 * buffer.length + BUFFER_OBJECT_BYTES ? exactCopy(buffer) : buffer;
}
