/**
 * What the server's logs may hold. Logs live outside every region cell, so they must carry nothing
 * that identifies a test taker and no secret: no request or response bodies (Fastify never logs
 * them), no query strings (they can carry one-time tokens), no client IP address, and no credential
 * headers even when a developer logs a headers object by hand (redacted below).
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { DestinationStream, LoggerOptions } from 'pino';
import type { ServerConfig } from '../config.types.js';

/** Headers that carry credentials, in lower case as Node presents them. */
const secretHeaders = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie'];

/** Redacted wherever a headers object appears at the top level or one level down (`req.headers`). */
export const redactPaths = secretHeaders.flatMap((h) => [`headers["${h}"]`, `*.headers["${h}"]`]);

export const REDACTED = '[redacted]';

export function loggerOptions(config: Pick<ServerConfig, 'logLevel'>, stream?: DestinationStream): LoggerOptions & { stream?: DestinationStream } {
  return {
    level: config.logLevel,
    redact: { paths: redactPaths, censor: REDACTED },
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: request.url.split('?')[0],
      }),
      res: (reply: FastifyReply) => ({ statusCode: reply.statusCode }),
    },
    ...(stream ? { stream } : {}),
  };
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Below `debug`, a request of this route that succeeds is not logged (no "incoming request" or
     * "request completed" line); one that fails still is. For routes a recorder calls several times a
     * second: a thousand test takers uploading make 1,500 requests a second, 3,000 lines a second, and
     * writing them cost the server about 8% more CPU (docs/BENCHMARKS.md).
     */
    readonly quietWhenOk?: boolean;
  }
}

const verbose = new Set(['debug', 'trace']);

function quiet(request: FastifyRequest): boolean {
  return request.routeOptions.config.quietWhenOk === true && !verbose.has(request.log.level);
}

/** Fastify's request lines, leaving out those of `quietWhenOk` routes that succeed. */
export class QuietWhenOkLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (!quiet(request)) super.incomingRequest(request, reply, metadata);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error || reply.statusCode >= 400 || !quiet(request)) super.requestCompleted(error, request, reply, metadata);
  }
}
