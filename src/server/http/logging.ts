/**
 * What the server's logs may hold. Logs live outside every region cell, so they must carry nothing
 * that identifies a test taker and no secret: no request or response bodies (Fastify never logs
 * them), no query strings (they can carry one-time tokens), no client IP address, and no credential
 * headers even when a developer logs a headers object by hand (redacted below).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
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
