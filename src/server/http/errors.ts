/**
 * One error format for every failure: `{ "error": { "code", "message" } }` with a stable code from
 * src/protocol/errors.ts. Feature code throws ApiError; Fastify's own errors (validation, content
 * type, body size, JSON syntax, bad URL) are mapped to API codes here, so a client never has to
 * understand Fastify's `FST_ERR_*` codes. Anything else is a bug: it is logged in full and the client
 * learns only EV_ERR_API_INTERNAL, never a message or stack that could reveal internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ApiErrorCode } from '../../protocol/errors.js';

const fastifyErrors: Readonly<Record<string, readonly [ApiErrorCode, string]>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['EV_ERR_API_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type: send application/json, or application/octet-stream where the route takes bytes'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['EV_ERR_API_PAYLOAD_TOO_LARGE', 'the request body is larger than this route accepts'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['EV_ERR_API_BAD_REQUEST', 'the request body is empty but its content type is application/json'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['EV_ERR_API_BAD_REQUEST', 'the request body is not valid JSON'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['EV_ERR_API_BAD_REQUEST', 'the request body does not match its Content-Length'],
  FST_ERR_BAD_URL: ['EV_ERR_API_BAD_REQUEST', 'the URL is malformed'],
};

/** Client-error statuses that have a code of their own; any other 4xx becomes EV_ERR_API_BAD_REQUEST. */
const byStatus: Readonly<Record<number, readonly [ApiErrorCode, string]>> = {
  401: ['EV_ERR_API_UNAUTHENTICATED', 'authentication required'],
  403: ['EV_ERR_API_FORBIDDEN', 'forbidden'],
  404: ['EV_ERR_API_NOT_FOUND', 'not found'],
  405: ['EV_ERR_API_METHOD_NOT_ALLOWED', 'method not allowed'],
  409: ['EV_ERR_API_CONFLICT', 'conflict'],
  413: ['EV_ERR_API_PAYLOAD_TOO_LARGE', 'the request body is too large'],
  415: ['EV_ERR_API_UNSUPPORTED_MEDIA_TYPE', 'unsupported content type'],
};

export const internalError = (): ApiError => new ApiError('EV_ERR_API_INTERNAL', 'internal error');
export const notFoundError = (): ApiError => new ApiError('EV_ERR_API_NOT_FOUND', 'not found');

/** The API error a thrown value becomes; null for a server fault (which the client sees as INTERNAL). */
export function toApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (typeof err !== 'object' || err === null) return null;
  const e = err as Partial<FastifyError>;
  // Schema validation: the message names the field and the rule (`body/name must be string`), never
  // the value, so it is safe and useful to return.
  if (e.validation) return new ApiError('EV_ERR_API_BAD_REQUEST', e.message ?? 'invalid request');
  const known = e.code !== undefined ? fastifyErrors[e.code] : undefined;
  if (known) return new ApiError(known[0], known[1]);
  const status = e.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // A library's 4xx: keep its meaning, not its wording (which may echo input).
    const [code, message] = byStatus[status] ?? ['EV_ERR_API_BAD_REQUEST', 'bad request'];
    return new ApiError(code, message);
  }
  return null;
}

/** buildApp's error handler (also used for Fastify's framework errors, which bypass it). */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const apiError = toApiError(err);
  if (apiError === null || apiError.status >= 500) {
    request.log.error({ err }, 'request failed');
    const sent = apiError ?? internalError();
    void reply.code(sent.status).type('application/json; charset=utf-8').send(sent.toBody());
    return;
  }
  // Client mistakes are routine: note the code, not the whole error.
  request.log.info({ code: apiError.code, status: apiError.status }, 'request refused');
  void reply.code(apiError.status).type('application/json; charset=utf-8').send(apiError.toBody());
}
