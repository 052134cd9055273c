/**
 * One registry of stable error codes, each mapped to its HTTP status and title in one place.
 * Code throws `PictorError` with a code from here; the HTTP layer turns it into a response
 * (plain text on the render listener, a JSON:API error document on the API).
 */
export const ERRORS = {
  // Rendering API
  INVALID_PARAMETER: { status: 400, title: 'Bad Request' },
  INVALID_PATH: { status: 400, title: 'Bad Request' },
  FORBIDDEN_PATH: { status: 403, title: 'Forbidden' },
  /** A folder Source whose folder is outside the folder roots allowed at start (`--folder-root`). */
  FOLDER_OUTSIDE_ROOTS: { status: 403, title: 'Forbidden' },
  /** An outbound fetch (any Source type, sub-images included) to a destination the SSRF guard refuses. */
  OUTBOUND_REFUSED: { status: 403, title: 'Forbidden' },
  INVALID_SIGNATURE: { status: 403, title: 'Forbidden' },
  ASSET_NOT_FOUND: { status: 404, title: 'Not Found' },
  URL_EXPIRED: { status: 404, title: 'Not Found' },
  SOURCE_DISABLED: { status: 410, title: 'Gone' },
  /** An asset under a takedown (RFC 7725), or a render that uses one as a sub-image. */
  TAKEN_DOWN: { status: 451, title: 'Unavailable For Legal Reasons' },
  INPUT_TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  /** A render whose estimated memory is over what `--render-memory` gives one render. */
  RENDER_TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  UNSUPPORTED_IMAGE: { status: 422, title: 'Unprocessable Entity' },
  RENDER_TIMEOUT: { status: 503, title: 'Service Unavailable' },
  OVERLOADED: { status: 503, title: 'Service Unavailable' },
  ORIGIN_UNAVAILABLE: { status: 502, title: 'Bad Gateway' },
  // Video API
  /** A byte range outside the file (`Range` on a passed-through video or a video output). */
  RANGE_NOT_SATISFIABLE: { status: 416, title: 'Range Not Satisfiable' },
  /** A video over a processing limit (duration, resolution). */
  VIDEO_TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  /** A file ffprobe or ffmpeg cannot read as a video (corrupt, truncated, no video stream). */
  UNSUPPORTED_VIDEO: { status: 422, title: 'Unprocessable Entity' },
  /** Queued or being processed: the outputs are not there yet (imgix answers 423 too). */
  VIDEO_PROCESSING: { status: 423, title: 'Locked' },
  /** More videos waiting for processing than the queue holds. */
  VIDEO_QUEUE_FULL: { status: 503, title: 'Service Unavailable' },
  /** No working ffmpeg/ffprobe: the Video API is off (images are unaffected). */
  VIDEO_UNAVAILABLE: { status: 501, title: 'Not Implemented' },
  // Management API
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  BAD_REQUEST: { status: 400, title: 'Bad Request' },
  UNKNOWN_HOST: { status: 400, title: 'Bad Request' },
  UNKNOWN_SOURCE: { status: 404, title: 'Not Found' },
  NOT_FOUND: { status: 404, title: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed' },
  /** A name already taken (an edge). */
  CONFLICT: { status: 409, title: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload Too Large' },
  /**
   * A request body of a type the API does not take, an upload whose bytes are no media, or (Rendering API) a
   * file whose bytes are no media, which the render listener never serves.
   */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type' },
  RATE_LIMITED: { status: 429, title: 'Too Many Requests' },
  SHUTTING_DOWN: { status: 503, title: 'Service Unavailable' },
  /** The store cannot write (disk full, read-only, I/O error): nothing was recorded. */
  STORE_UNAVAILABLE: { status: 503, title: 'Service Unavailable' },
  /** A Varnish edge that did not do what was asked (a flush before re-admission): it is left as it was. */
  EDGE_UNAVAILABLE: { status: 502, title: 'Bad Gateway' },
  INTERNAL: { status: 500, title: 'Internal Server Error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class PictorError extends Error {
  readonly code: ErrorCode;
  /** JSON:API `source.pointer` (API) or the offending parameter name (renders). */
  readonly pointer: string | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, options: { pointer?: string; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PictorError';
    this.code = code;
    this.pointer = options.pointer;
    this.headers = options.headers;
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get title(): string {
    return ERRORS[this.code].title;
  }
}

export function isPictorError(error: unknown): error is PictorError {
  return error instanceof PictorError;
}
