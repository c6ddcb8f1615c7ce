/**
 * The app factory: builds the whole HTTP API from a frozen configuration and opened services, without
 * listening. Tests drive it with `app.inject`; main.ts adds the TLS options and listens.
 *
 * Everything that must hold for every response lives here rather than in feature routes: security
 * headers (http/security-headers.ts), one error format (http/errors.ts), which bodies are accepted and
 * how large, what is logged (http/logging.ts), and in proxy mode the refusal of non-HTTPS requests
 * (http/require-https.ts). Feature routes (`services.routes`) are mounted under `/v1`.
 */
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import Fastify, { type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { DestinationStream } from 'pino';
import type { ServerConfig } from './config.types.js';
import { handleError, notFoundError } from './http/errors.js';
import { QuietWhenOkLogController, loggerOptions } from './http/logging.js';
import { HEALTH_PATH, requireForwardedHttps } from './http/require-https.js';
import { applySecurityHeaders, securityHeaders } from './http/security-headers.js';
import type { Services } from './services.js';
import { webRoutes } from './pages/pages.routes.js';

export const API_PREFIX = '/v1';

/** JSON bodies are small requests: anything larger is a mistake or an attack. */
export const JSON_BODY_LIMIT = 1024 * 1024;
/** A sealed segment is at most 16 MiB of media plus its tag; 1 MiB to spare. Routes may set less. */
export const OCTET_STREAM_BODY_LIMIT = 17 * 1024 * 1024;

export interface BuildAppOptions {
  /** TLS options for an HTTPS listener (tls/tls-options.ts). Absent: plain HTTP (proxy mode, inject). */
  readonly https?: HttpsServerOptions;
  /** Where log lines go (default stdout); tests pass a stream to read them. */
  readonly logStream?: DestinationStream;
  /** The built browser apps served under /app/ (default dist/web; tests pass their own build). */
  readonly webDir?: string;
}

export interface RouteEntry {
  readonly method: string;
  /** The path as registered, e.g. /v1/recordings/:id/segments/:n. */
  readonly url: string;
}

export type ExamVaultApp = FastifyInstance & {
  /** Every route the app serves, filled as routes register: the source of the OpenAPI and authorization checks. */
  readonly routeTable: readonly RouteEntry[];
};

export function buildApp(config: ServerConfig, services: Pick<Services, 'routes'>, options: BuildAppOptions = {}): ExamVaultApp {
  const proxyMode = config.tls.mode === 'proxy';
  const headers = securityHeaders(config);
  const fastifyOptions: FastifyServerOptions = {
    logger: loggerOptions(config, options.logStream),
    logController: new QuietWhenOkLogController(),
    bodyLimit: JSON_BODY_LIMIT,
    // Behind the proxy, believe X-Forwarded-* from a loopback peer only (config.ts guarantees the
    // listener is loopback); never from anyone else.
    trustProxy: proxyMode ? 'loopback' : false,
    // A body with a property its schema does not allow is refused (400), not silently trimmed:
    // a client sending something unexpected has a bug worth hearing about. (Fastify's default type
    // coercion stays: path and query parameters arrive as strings.)
    ajv: { customOptions: { removeAdditional: false } },
    // Request ids are generated here; a client-chosen id could forge log correlation.
    requestIdHeader: false,
    // Framework errors (a malformed URL) bypass the hooks: give them the headers and format too.
    frameworkErrors: (err, request, reply) => {
      applySecurityHeaders(reply, headers);
      handleError(err, request, reply);
    },
  };
  // Fastify types an HTTPS instance apart from an HTTP one; every route and hook here works on both.
  const app = options.https
    ? (Fastify({ ...fastifyOptions, https: options.https } as unknown as FastifyHttpsOptions<HttpsServer>) as unknown as FastifyInstance)
    : Fastify(fastifyOptions);

  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routeTable.push({ method, url: route.url });
  });

  app.addHook('onRequest', async (_request, reply) => {
    applySecurityHeaders(reply, headers);
  });
  if (proxyMode) app.addHook('onRequest', requireForwardedHttps);

  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => {
    const err = notFoundError();
    void reply.code(err.status).send(err.toBody());
  });

  // Only JSON and raw bytes. text/plain, urlencoded and multipart are the content types a page on
  // another site can POST without a CORS preflight; accepting none of them (415) shuts that door.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: OCTET_STREAM_BODY_LIMIT }, (_request, body, done) => {
    done(null, body);
  });

  app.get(HEALTH_PATH, async () => ({ status: 'ok' }));
  void app.register(services.routes, { prefix: API_PREFIX });
  void app.register(webRoutes, options.webDir === undefined ? {} : { dir: options.webDir });

  return app as ExamVaultApp;
}
