/**
 * Serves the browser apps (docs/WEB.md) under /app/: the recorder at /app/recorder/, the reviewer at
 * /app/reviewer/, the admin console at /app/admin/, and their hashed assets under /app/assets/.
 *
 * Pages get their own Content-Security-Policy in place of the API's `default-src 'none'`: scripts,
 * styles, media and connections from this origin only, no inline script or style, no plugin, no
 * framing, forms posting nowhere. Media elements may play `blob:` URLs (the recorder's own preview
 * and the reviewer's decrypted segments, both made in the page). Pages are `no-store` (a new build
 * must reach every browser at once); hashed assets are cached for a year.
 */
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from '../../protocol/errors.js';
import { loadWebAssets } from './page-assets.js';

export const WEB_MOUNT = '/app/';

/** dist/web beside dist/server (and, run from source, the same place from src/server/pages). */
export const defaultWebDir = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

export const pageContentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

export interface WebRoutesOptions {
  /** The built apps; default dist/web. */
  readonly dir?: string;
}

export const webRoutes: FastifyPluginAsync<WebRoutesOptions> = async (app, { dir = defaultWebDir }) => {
  const assets = await loadWebAssets(dir, WEB_MOUNT);
  if (!assets) app.log.warn({ dir }, 'the web apps are not built (npm run build): /app/ answers 404');

  // An invite's setup link (docs/STAFF.md) names this path, its token in the fragment, which browsers
  // keep across a redirect and never send: the admin console redeems it (and sends a reviewer on).
  app.get('/staff/setup', async (_request, reply) => reply.redirect(`${WEB_MOUNT}admin/`));

  app.get<{ Params: { '*': string } }>(`${WEB_MOUNT}*`, async (request, reply) => {
    const path = request.params['*'];
    const asset = assets?.get(path) ?? (path.endsWith('/') ? undefined : assets?.get(`${path}/`));
    if (!asset) throw new ApiError('EV_ERR_API_NOT_FOUND', assets ? 'not found' : 'the web apps are not built on this server (npm run build)');
    if (!path.endsWith('/') && asset.type.startsWith('text/html')) return reply.redirect(`${WEB_MOUNT}${path}/`);
    if (asset.type.startsWith('text/html')) reply.header('content-security-policy', pageContentSecurityPolicy);
    else if (asset.immutable) reply.header('cache-control', 'public, max-age=31536000, immutable');
    return reply.type(asset.type).send(asset.body);
  });
};
