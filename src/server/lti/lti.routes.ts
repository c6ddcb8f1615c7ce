/**
 * HTTP routes of the LTI 1.3 tool (docs/LTI.md) and of the attempt hand-off. The LMS-facing routes
 * take `application/x-www-form-urlencoded` (the OIDC form_post and the platforms' form posts): this
 * plugin alone accepts it, and each of its form routes carries its own credential (a state with its
 * browser binding, or a one-time code), so a cross-site form post without one gets nowhere.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { STAFF_SESSION_COOKIE } from '../../protocol/staff.js';
import { hostCookie, readCookie } from '../staff/cookies.js';
import { STAFF_SESSION_TTL_MS, requireStaff, staffOf } from '../staff/staff-auth.js';
import { confirmLaunch, launch } from './launch.service.js';
import type { LtiContext } from './lti-context.js';
import { type LoginRequest, bindingCookie, bindingCookieName, startLogin } from './login.service.js';
import { deepLinkingResponse, exchangeHandoff, recorderWindow, staffSessionFromCode, startAssessment } from './steps.service.js';
import { handleError, toApiError } from '../http/errors.js';
import { type PageOptions, escapeHtml, scripts, sendPage } from './pages.js';
import { PlatformKeySets } from './platform-jwks.js';
import { REFUSAL_WINDOW_MS, RefusalAudit } from './refusal-audit.js';
import { platformsOf, registerPlatform, removePlatform } from './platform.service.js';

/** The context of the flows, less the platform key-set cache and refusal counts the routes keep themselves. */
export type LtiRoutesOptions = Omit<LtiContext, 'keySets' | 'refusals'>;

const FORM_BODY_LIMIT = 64 * 1024;

function form(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

export const ltiRoutes: FastifyPluginAsync<LtiRoutesOptions> = async (app, options) => {
  const ctx: LtiContext = { ...options, keySets: new PlatformKeySets(options.clock), refusals: new RefusalAudit(options.clock) };
  // The counts of refusals over their window's budget are written soon after the window, and at stop (refusal-audit.ts).
  const unaudited = (e: unknown) => app.log.warn({ err: e }, 'LTI refusal counts not audited');
  const sweep = setInterval(() => void ctx.refusals.flush(options.clock()).catch(unaudited), REFUSAL_WINDOW_MS).unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await ctx.refusals.flush(options.clock(), true).catch(unaudited);
  });
  const staffContext = { cells: options.cells, publicOrigin: options.publicOrigin, clock: options.clock };
  const admin = requireStaff(['admin'], staffContext);

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
    const fields: Record<string, string> = {};
    // The first of a repeated field wins; a parameter never becomes an array.
    for (const [k, v] of new URLSearchParams(body as string)) if (!(k in fields)) fields[k] = v;
    done(null, fields);
  });

  const page = (reply: FastifyReply, p: PageOptions) => sendPage(reply, p);

  // A browser in the LMS's frame asked for a document: a refusal is a small page naming its code,
  // which the LMS may frame (it holds no action to click and no secret), rather than JSON the frame
  // would refuse to show. API clients (no text/html in Accept) get the usual JSON error.
  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err);
    if (apiError === null || !String(request.headers.accept ?? '').includes('text/html')) return handleError(err, request, reply);
    if (apiError.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: apiError.code, status: apiError.status }, 'request refused');
    const body = `<p>${escapeHtml(apiError.message)}</p><p>Error code: <code>${escapeHtml(apiError.code)}</code> (docs/errors.md)</p>`;
    return sendPage(reply, { title: 'ExamVault could not open', meta: { 'ev-error': apiError.code }, body, frameOrigins: ['*'] }, apiError.status);
  });

  // Registrations, by the institution's admins.
  app.post('/lti/platforms', { preHandler: admin }, async (request, reply) => {
    const s = staffOf(request);
    return reply.code(201).send(await registerPlatform(options.cells, options.directory, s.institution, request.body, options.clock()));
  });
  app.get('/lti/platforms', { preHandler: admin }, async (request) => platformsOf(options.cells, options.directory, staffOf(request).institution));
  app.delete<{ Params: { platform: string } }>('/lti/platforms/:platform', { preHandler: admin }, async (request, reply) => {
    await removePlatform(options.cells, options.directory, staffOf(request).institution, request.params.platform);
    return reply.code(204).send();
  });

  // The tool's public keys, and the pages' scripts.
  app.get('/lti/jwks', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').header('cross-origin-resource-policy', 'cross-origin').send(await options.toolKeys.jwks()));
  app.get<{ Params: { name: string } }>('/lti/scripts/:name', async (request, reply) => {
    const source = Object.hasOwn(scripts, request.params.name) ? scripts[request.params.name] : undefined;
    if (source === undefined) return reply.code(404).send({ error: { code: 'EV_ERR_API_NOT_FOUND', message: 'no such script' } });
    return reply.header('cache-control', 'no-cache').type('text/javascript; charset=utf-8').send(source);
  });

  // OIDC third-party-initiated login: GET or POST, as the platform chooses.
  const login = async (params: LoginRequest, reply: FastifyReply) => {
    const outcome = await startLogin(ctx, params);
    void reply.header('set-cookie', outcome.cookie);
    if (outcome.kind === 'redirect') return reply.code(302).header('location', outcome.location).send();
    return page(reply, outcome.page);
  };
  app.get('/lti/login', async (request, reply) => login(form(request.query) as LoginRequest, reply));
  app.post('/lti/login', async (request, reply) => login(form(request.body) as LoginRequest, reply));

  app.post('/lti/launch', async (request: FastifyRequest, reply) => {
    const body = form(request.body);
    let used: string | null = null;
    const result = await launch(ctx, {
      idToken: body.id_token,
      state: body.state,
      binding: (state) => {
        used = state;
        return readCookie(request.headers.cookie, bindingCookieName(state));
      },
    });
    if (used !== null) void reply.header('set-cookie', bindingCookie(used, 'x', 0));
    return page(reply, result);
  });
  app.post('/lti/launch/confirm', async (request, reply) => {
    const body = form(request.body);
    return page(reply, await confirmLaunch(ctx, body.state, body.binding));
  });
  app.post('/lti/deep-linking/response', async (request, reply) => {
    const body = form(request.body);
    return page(reply, await deepLinkingResponse(ctx, body.code, body.exam));
  });
  app.post('/lti/proctoring/start', async (request, reply) => page(reply, await startAssessment(ctx, form(request.body).code)));
  app.post('/lti/recorder', async (request, reply) => page(reply, await recorderWindow(ctx, form(request.body).code, request.headers.origin, request.headers['sec-fetch-site'])));
  app.post('/lti/staff/session', async (request, reply) => {
    const session = await staffSessionFromCode(ctx, form(request.body).code);
    void reply.header('set-cookie', hostCookie(STAFF_SESSION_COOKIE, session.token, STAFF_SESSION_TTL_MS / 1000));
    // LTI staff are reviewers (it never makes admins): they land in the reviewer app, signed in.
    return reply.code(303).header('location', `${options.publicOrigin}/app/reviewer/`).send();
  });

  // The recorder's exchange of the launch page's code for the attempt credential (JSON).
  app.post('/attempts/handoff', async (request) => exchangeHandoff(ctx, form(request.body).code));
};
