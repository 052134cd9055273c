import { ERRORS, isPictorError, PictorError } from './errors.ts';
import { storeFault } from './store/store-errors.ts';

/*
 * What a failed request becomes, for every listener (http/) and the dashboard alike: the PictorError it is
 * answered with (errors.ts maps its code to the HTTP status), and how loudly it is logged.
 */

/** Maps anything thrown (ours, Fastify's, or a bug) to a PictorError with a message a person understands. */
export function toPictorError(error: unknown): PictorError {
  if (isPictorError(error)) return error;
  const fault = storeFault(error);
  if (fault) return fault;
  const fastify = error as { statusCode?: number; code?: string; message?: string };
  switch (fastify.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PictorError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/vnd.api+json (or application/json).');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PictorError('PAYLOAD_TOO_LARGE', 'The request body is too large.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PictorError('BAD_REQUEST', 'The request body is empty; send a JSON:API document.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new PictorError('BAD_REQUEST', 'The Content-Length header does not match the body.');
  }
  const status = fastify.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    const code = (Object.keys(ERRORS) as (keyof typeof ERRORS)[]).find((key) => ERRORS[key].status === status) ?? 'BAD_REQUEST';
    return new PictorError(code, fastify.message ?? 'Bad request.');
  }
  return new PictorError('INTERNAL', 'Something went wrong on our side; the error has been logged.', { cause: error });
}

/**
 * How loud a failed request is logged: a bug (INTERNAL) is an error; a refusal Pictor chose to make under
 * load or limits (a render timeout, a full queue, a store or origin that cannot be reached) is a warning,
 * reported in /metrics and /healthz as well; a client's mistake (4xx) is not logged apart from its request line.
 */
export function failureLevel(error: PictorError): 'error' | 'warn' | undefined {
  if (error.code === 'INTERNAL') return 'error';
  return error.status >= 500 ? 'warn' : undefined;
}
