import { randomBytes } from 'node:crypto';
import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Logger } from '../observability/logger.ts';

/** Options shared by both listeners: our pino logger, our own request logs, a request id per request. */
export function serverOptions(logger: Logger, listener: 'render' | 'admin'): FastifyServerOptions & { loggerInstance: FastifyBaseLogger } {
  return {
    loggerInstance: logger.child({ listener }) as FastifyBaseLogger,
    // Each listener logs one line per response itself (render hits only at debug level).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomBytes(16).toString('hex'),
    requestIdHeader: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 8192 },
  };
}
