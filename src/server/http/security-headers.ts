/**
 * Response headers every ExamVault response carries, errors and 404s included. They are set when a
 * request arrives (buildApp's first onRequest hook), so a route may replace one deliberately (the web
 * apps will send their own Content-Security-Policy with `script-src 'self'`; a route serving cacheable
 * ciphertext may relax Cache-Control), and the error handler keeps them.
 */
import type { FastifyReply } from 'fastify';
import type { ServerConfig } from '../config.types.js';

/**
 * An API response is JSON or bytes, never a document: it may load nothing, be framed by nothing and
 * submit nowhere, so even a response a browser were tricked into rendering could run nothing.
 */
export const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The recorder needs the camera, the microphone and screen capture, from its own origin only;
 * everything else a page could ask for is refused.
 */
export const permissionsPolicy = [
  'camera=(self)',
  'microphone=(self)',
  'display-capture=(self)',
  'geolocation=()',
  'payment=()',
  'usb=()',
  'accelerometer=()',
  'gyroscope=()',
  'magnetometer=()',
].join(', ');

export function securityHeaders(config: Pick<ServerConfig, 'hstsMaxAgeSeconds'>): Readonly<Record<string, string>> {
  return Object.freeze({
    // HTTPS only, for this host and its subdomains, remembered for the configured time. No `preload`:
    // joining the preload list is an operator's decision about their whole domain.
    'strict-transport-security': `max-age=${config.hstsMaxAgeSeconds}; includeSubDomains`,
    'content-security-policy': apiContentSecurityPolicy,
    'x-content-type-options': 'nosniff',
    // Legacy twin of frame-ancestors for browsers that ignore CSP.
    'x-frame-options': 'DENY',
    // URLs may carry ids; no other site learns them.
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': permissionsPolicy,
    // Responses are per user and often secret (wrapped keys, credentials): no cache may keep them.
    'cache-control': 'no-store',
  });
}

export function applySecurityHeaders(reply: FastifyReply, headers: Readonly<Record<string, string>>): void {
  reply.headers(headers);
}
