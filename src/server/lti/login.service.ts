/**
 * OIDC third-party-initiated login (LTI Core 1.3 §5.1.1, OIDC Core §4), docs/LTI.md "Login and the
 * browser binding": finds the registration from (iss, client_id), creates a pending login (state,
 * nonce, and a browser binding whose hash is stored), and sends the browser to the platform's
 * authorization endpoint with the binding in a cookie and, when the platform offers its storage
 * (`lti_storage_target`), in the platform's storage as well (login.js).
 */
import { deleteExpiredLogins, findPlatform, insertLogin, lookupPlatforms } from './lti.repository.js';
import { random43, sha256Hex } from './codes.js';
import { type LtiContext, firstCell, frameOriginsOf, launchUrl, refuse, text } from './lti-context.js';
import type { PageOptions } from './pages.js';
import { ltiError } from './platform.service.js';

export const LOGIN_TTL_MS = 10 * 60 * 1000;

/** The browser-binding cookie of one login: named after its state, so concurrent launches do not clash. */
export function bindingCookieName(state: string): string {
  return `__Host-ev_lti_${sha256Hex(state).slice(0, 16)}`;
}

/** SameSite=None: the launch is a cross-site form post into an iframe; Partitioned keeps it to the LMS's site. */
export function bindingCookie(state: string, value: string, maxAgeSeconds: number): string {
  return `${bindingCookieName(state)}=${value}; Max-Age=${maxAgeSeconds}; Path=/; Secure; HttpOnly; SameSite=None; Partitioned`;
}

/** The key of a login's binding in platform storage. */
export function storageKey(state: string): string {
  return `ev_lti_${sha256Hex(state).slice(0, 16)}`;
}

export interface LoginRequest {
  readonly iss?: string;
  readonly login_hint?: string;
  readonly target_link_uri?: string;
  readonly lti_message_hint?: string;
  readonly client_id?: string;
  readonly lti_deployment_id?: string;
  readonly lti_storage_target?: string;
}

export type LoginOutcome =
  | { readonly kind: 'redirect'; readonly location: string; readonly cookie: string }
  | { readonly kind: 'page'; readonly page: PageOptions; readonly cookie: string };


/** OIDC third-party-initiated login (LTI Core §5.1.1 / OIDC Core §4): state, nonce, browser binding, redirect. */
export async function startLogin(ctx: LtiContext, params: LoginRequest): Promise<LoginOutcome> {
  const now = ctx.clock();
  if (!text(params.iss, 255) || !text(params.login_hint) || !text(params.target_link_uri)) {
    throw ltiError('EV_ERR_LTI_LOGIN_INVALID', 'login initiation needs iss, login_hint and target_link_uri');
  }
  for (const optional of [params.client_id, params.lti_message_hint, params.lti_deployment_id, params.lti_storage_target]) {
    if (optional !== undefined && !text(optional)) throw ltiError('EV_ERR_LTI_LOGIN_INVALID', 'a login initiation parameter is empty or too long');
  }
  const candidates = (await lookupPlatforms(ctx.directory, params.iss)).filter((p) => params.client_id === undefined || p.client_id === params.client_id);
  const entry = candidates.length === 1 ? candidates[0] : undefined;
  const cell = entry ? ctx.cells.get(entry.region) : undefined;
  const platform = cell && entry ? await findPlatform(cell.db, entry.platform_id) : undefined;
  if (!cell || !platform) {
    throw await refuse(ctx, firstCell(ctx.cells), null, 'EV_ERR_LTI_PLATFORM_UNKNOWN', 'no registration for this issuer and client id (with several client ids for an issuer, the platform must send client_id)');
  }
  if (!params.target_link_uri.startsWith(`${ctx.publicOrigin}/`)) throw ltiError('EV_ERR_LTI_LOGIN_INVALID', `target_link_uri must be a URL of ${ctx.publicOrigin}`);
  if (params.lti_deployment_id !== undefined && !(JSON.parse(platform.deployment_ids) as string[]).includes(params.lti_deployment_id)) {
    throw await refuse(ctx, cell, platform, 'EV_ERR_LTI_DEPLOYMENT_UNKNOWN', 'the deployment id is not registered');
  }
  await deleteExpiredLogins(cell.db, now);
  const state = `evl1.${cell.region}.${random43()}`;
  const nonce = random43();
  const binding = random43();
  await insertLogin(cell.db, {
    state_hash: sha256Hex(state),
    platform_id: platform.id,
    nonce,
    binding_hash: sha256Hex(binding),
    target_link_uri: params.target_link_uri,
    storage_target: params.lti_storage_target ?? null,
    expires_at: now + LOGIN_TTL_MS,
    created_at: now,
  });
  const auth = new URL(platform.auth_endpoint);
  const query: Record<string, string> = {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: platform.client_id,
    redirect_uri: launchUrl(ctx.publicOrigin),
    login_hint: params.login_hint,
    state,
    nonce,
  };
  if (params.lti_message_hint !== undefined) query.lti_message_hint = params.lti_message_hint;
  for (const [k, v] of Object.entries(query)) auth.searchParams.set(k, v);
  const cookie = bindingCookie(state, binding, LOGIN_TTL_MS / 1000);
  if (params.lti_storage_target === undefined) return { kind: 'redirect', location: auth.toString(), cookie };
  return {
    kind: 'page',
    cookie,
    page: {
      title: 'Opening ExamVault',
      meta: {
        'ev-lti-next': auth.toString(),
        'ev-lti-storage-target': params.lti_storage_target,
        'ev-lti-storage-origin': auth.origin,
        'ev-lti-storage-key': storageKey(state),
        'ev-lti-storage-value': binding,
      },
      script: '/v1/lti/scripts/login.js',
      body: '<p>Opening ExamVault…</p>',
      frameOrigins: frameOriginsOf(platform),
    },
  };
}
