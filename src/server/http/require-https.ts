/**
 * TLS mode `proxy`: ExamVault speaks plain HTTP on a loopback address and a TLS-terminating proxy on
 * the same machine forwards to it, stating the client's scheme in `X-Forwarded-Proto`. Fastify trusts
 * that header only from a loopback peer (`trustProxy: 'loopback'`). A request that did not arrive
 * over HTTPS (a proxy forwarding its port 80, or a local process calling the port directly) is
 * refused with 403 EV_ERR_API_TLS_REQUIRED: serving it would put credentials and keys on the wire in
 * clear. `/healthz` is exempt so a local supervisor can probe the port directly; it reveals nothing.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../../protocol/errors.js';

export const HEALTH_PATH = '/healthz';

export async function requireForwardedHttps(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (request.routeOptions.url === HEALTH_PATH) return;
  if (request.protocol !== 'https') {
    throw new ApiError('EV_ERR_API_TLS_REQUIRED', 'this server is reached only over HTTPS through its TLS proxy (X-Forwarded-Proto: https)');
  }
}
