/**
 * Staff sign-in for the admin console and the reviewer app (docs/STAFF.md): passkeys through
 * @simplewebauthn/browser, a session held in the `__Host-ev_session` cookie, which no script can read.
 *
 * What the page keeps is only the answer of sign-in or `GET /v1/staff/me`: who is signed in and the
 * session's CSRF token. Every state-changing call made with the session goes through `staffCall`,
 * which adds that token (`x-ev-csrf`); the browser adds `Origin` itself. Nothing here is stored: a
 * reload asks `/v1/staff/me` again, so the session lives exactly as long as the server says.
 *
 * An invite's token comes from the setup link's fragment (`…#evi1.<region>.<token>`), which browsers
 * never send to a server; `inviteTokenFrom` reads it from a fragment or a pasted link.
 */
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { CSRF_HEADER, type StaffMe } from '../../protocol/staff.js';
import { ApiCallError, type CallOptions, call, callJson } from './api.js';

export type { StaffMe };

/** An invite token's form (docs/STAFF.md): `evi1.<region>.<43 base64url characters>`. */
const INVITE_TOKEN = /evi1\.[a-z]{2,8}\.[A-Za-z0-9_-]{43}/;

/**
 * The invite token in a setup link, its fragment, or the token pasted alone; null when there is
 * none. The page clears the fragment once read, so it stays out of history and bookmarks.
 */
export function inviteTokenFrom(text: string): string | null {
  return INVITE_TOKEN.exec(text.trim())?.[0] ?? null;
}

/**
 * The ceremony answer to post: `clientExtensionResults` replaced by `{}` because PRF outputs are
 * secrets for this page only, never for the server (docs/STAFF.md "Passkeys").
 */
function withoutExtensions<T extends { clientExtensionResults: unknown }>(response: T): T {
  return { ...response, clientExtensionResults: {} };
}

/**
 * Redeems a one-time setup link and registers a new passkey for the new staff member, which signs
 * them in. The invite is used up only by a registration that verifies; a cancelled passkey prompt
 * leaves it usable (until it expires), but the server wants a fresh ceremony: call this again.
 */
export async function redeemInvite(token: string): Promise<StaffMe> {
  const { options } = await callJson<{ options: Parameters<typeof startRegistration>[0]['optionsJSON'] }>(
    '/v1/staff/invites/redeem', { method: 'POST', json: { token } });
  const response = await startRegistration({ optionsJSON: options });
  return callJson<StaffMe>('/v1/staff/registration', { method: 'POST', json: { response: withoutExtensions(response) } });
}

/** Signs in with a discoverable passkey: the options name no user, so the authenticator offers its own. */
export async function signIn(): Promise<StaffMe> {
  const { options } = await callJson<{ options: Parameters<typeof startAuthentication>[0]['optionsJSON'] }>(
    '/v1/staff/sign-in/options', { method: 'POST', json: {} });
  const response = await startAuthentication({ optionsJSON: options });
  return callJson<StaffMe>('/v1/staff/sign-in', { method: 'POST', json: { response: withoutExtensions(response) } });
}

/**
 * Who is signed in, or null when no session is (missing, expired, signed out): the page then shows its
 * sign-in screen. Any other failure (a server down) is thrown, so it is not mistaken for signed out.
 */
export async function currentStaff(): Promise<StaffMe | null> {
  try {
    return await callJson<StaffMe>('/v1/staff/me');
  } catch (e) {
    if (e instanceof ApiCallError && e.status === 401) return null;
    throw e;
  }
}

/** Ends the session on the server, which also clears the cookie. */
export async function signOut(me: StaffMe): Promise<void> {
  await call('/v1/staff/sign-out', { method: 'POST', headers: { [CSRF_HEADER]: me.csrfToken } });
}

/** A call made with the staff session: the CSRF token goes with every one (GETs ignore it). */
export function staffCall(me: StaffMe, path: string, options: CallOptions = {}): Promise<Response> {
  return call(path, { ...options, headers: { ...options.headers, [CSRF_HEADER]: me.csrfToken } });
}

/** `staffCall` answering JSON. */
export async function staffJson<T>(me: StaffMe, path: string, options: CallOptions = {}): Promise<T> {
  return (await (await staffCall(me, path, options)).json()) as T;
}
