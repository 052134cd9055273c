import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on standard output. Secrets never reach the logs: authorization headers are redacted. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'pictor' }, redact: ['req.headers.authorization', 'headers.authorization'] });
}
