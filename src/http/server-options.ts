import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';
import type { Logger } from '../observability/logger.ts';
import { requestIdGenerator } from './request-id.ts';

/** Fastify options for the admin listener: our pino logger, our own request logs, a request id per request. */
export function serverOptions(logger: Logger, listener: 'admin'): FastifyServerOptions & { loggerInstance: FastifyBaseLogger } {
  return {
    loggerInstance: logger.child({ listener }) as FastifyBaseLogger,
    // The listener logs one line per response itself.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdGenerator(),
    requestIdHeader: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 8192 },
  };
}
