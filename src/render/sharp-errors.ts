/**
 * sharp/libvips failures → PictorError. Errors raised while *running* a pipeline are about the input
 * (corrupt, truncated, undecodable) unless they are timeouts or the pixel limit; errors that point at our
 * own arguments (bad extract area, composite size) stay plain errors so that they surface as 500s.
 */
import { isPictorError, PictorError } from '../errors.ts';

const OUR_BUG = /extract_area|bad extract area|composite must have|Expected .* (for|but received)|Band expansion/i;

export function mapSharpError(error: unknown): Error {
  if (isPictorError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^timeout/i.test(message)) {
    return new PictorError('RENDER_TIMEOUT', 'Rendering took too long', { cause: error });
  }
  if (/exceeds pixel limit/i.test(message)) {
    return new PictorError('INPUT_TOO_LARGE', 'The source image has too many pixels', { cause: error });
  }
  if (OUR_BUG.test(message)) return error instanceof Error ? error : new Error(message);
  return new PictorError('UNSUPPORTED_IMAGE', `The source image could not be decoded: ${firstLine(message)}`, { cause: error });
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
