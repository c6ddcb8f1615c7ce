/**
 * Staff sessions: creating them, and the `requireStaff(roles, context)` preHandler every staff route uses.
 *
 * A session token is `evs1.<region>.<43 chars base64url of 32 random bytes>` in the `__Host-ev_session`
 * cookie; the region names the cell that holds its row, and only SHA-256 of the token is stored. The
 * CSRF token is HMAC-SHA256(session token, label): bound to that one session, recomputable from the
 * cookie (so GET /me can return it again) yet stored only as its hash. A state-changing request must
 * send it in `x-ev-csrf` and come with `Origin: <publicOrigin>`: SameSite=Strict already keeps the
 * cookie off cross-site requests, these two checks hold even where it does not (old browsers, a
 * sibling subdomain, a same-site page).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AuditPayload } from '../../crypto/merkle/index.js';
import { ApiError } from '../../protocol/errors.js';
import { CSRF_HEADER, STAFF_SESSION_COOKIE, type StaffErrorCode, staffErrors } from '../../protocol/staff.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import { readCookie } from './cookies.js';
import { deleteSession, findSessionWithStaff, insertSession } from './staff.repository.js';
import type { AuthenticatedStaff, StaffAuthContext, StaffPrincipal, StaffRole, StaffSession } from './staff.types.js';

/** Eight hours: a working day, after which the passkey is asked for again. */
export const STAFF_SESSION_TTL_MS = 8 * 3600 * 1000;

const sessionPattern = /^evs1\.([a-z][a-z0-9-]{1,15})\.([A-Za-z0-9_-]{43})$/;

export function staffError(code: StaffErrorCode, message: string): ApiError {
  return new ApiError(code, message, staffErrors[code]);
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function csrfFor(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('examvault staff csrf v1').digest('base64url');
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * Starts a session for a staff member of `cell` (sign-in does this after a passkey ceremony; tests
 * call it directly). Returns the token once.
 * @example
 *   const s = await createStaffSession(cell, staffId, Date.now());
 *   await app.inject({ method: 'GET', url: '/v1/staff/me', headers: { cookie: s.cookie } });
 */
export async function createStaffSession(cell: Cell, staffId: string, now: number): Promise<StaffSession> {
  const token = `evs1.${cell.region}.${randomBytes(32).toString('base64url')}`;
  const csrfToken = csrfFor(token);
  const expiresAt = now + STAFF_SESSION_TTL_MS;
  await insertSession(cell.db, { token_hash: sha256Hex(token), staff_id: staffId, csrf_hash: sha256Hex(csrfToken), expires_at: expiresAt, created_at: now });
  return { token, cookie: `${STAFF_SESSION_COOKIE}=${token}`, csrfToken, expiresAt };
}

/** True for methods that change state: these need the Origin and CSRF checks. */
export function isStateChanging(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/** Refuses a request whose Origin header is not exactly the public origin. */
export function checkOrigin(request: FastifyRequest, publicOrigin: string): void {
  if (request.headers.origin !== publicOrigin) throw staffError('EV_ERR_STAFF_BAD_ORIGIN', `state-changing staff requests must come from ${publicOrigin}`);
}

/** Authenticates the session cookie (and, for state-changing methods, Origin and CSRF). */
export async function authenticateStaff(request: FastifyRequest, context: StaffAuthContext): Promise<AuthenticatedStaff> {
  const token = readCookie(request.headers.cookie, STAFF_SESSION_COOKIE);
  if (!token) throw staffError('EV_ERR_SESSION_MISSING', 'sign in first: no staff session cookie');
  const region = sessionPattern.exec(token)?.[1];
  const cell = region ? context.cells.get(region) : undefined;
  const hash = sha256Hex(token);
  const row = cell ? await findSessionWithStaff(cell.db, hash) : undefined;
  if (!cell || !row || row.disabled_at !== null) throw staffError('EV_ERR_SESSION_INVALID', 'the staff session is not valid: sign in again');
  if (Number(row.expires_at) <= context.clock()) throw staffError('EV_ERR_SESSION_EXPIRED', 'the staff session has expired: sign in again');
  const csrfToken = csrfFor(token);
  if (isStateChanging(request.method)) {
    checkOrigin(request, context.publicOrigin);
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || row.csrf_hash === null || !sameHash(sha256Hex(sent), row.csrf_hash)) {
      throw staffError('EV_ERR_SESSION_CSRF', `send the session's CSRF token (GET /v1/staff/me) in ${CSRF_HEADER}`);
    }
  }
  return {
    cell,
    sessionHash: hash,
    csrfToken,
    expiresAt: Number(row.expires_at),
    principal: { staffId: row.staff_id, institution: row.institution_id, region: cell.region, role: row.role },
  };
}

/**
 * A preHandler that lets through only a signed-in staff member with one of `roles`, and sets
 * `request.staff`. Wrong role is EV_ERR_STAFF_ROLE_FORBIDDEN; institution checks are the route's.
 * @example
 *   app.post('/custody/grants', { preHandler: requireStaff(['admin'], context) }, async (request) => {
 *     const staff = request.staff!; // institution + role come from the session, never the body
 *   });
 */
export function requireStaff(roles: readonly StaffRole[], context: StaffAuthContext): preHandlerAsyncHookHandler {
  return async function requireStaffSession(request: FastifyRequest, _reply: FastifyReply) {
    const { principal } = await authenticateStaff(request, context);
    if (!roles.includes(principal.role)) throw staffError('EV_ERR_STAFF_ROLE_FORBIDDEN', `this needs the role ${roles.join(' or ')}`);
    request.staff = principal;
  };
}

/** The principal `requireStaff` set; a route without it is a bug, reported as a server fault. */
export function staffOf(request: FastifyRequest): StaffPrincipal {
  if (!request.staff) throw new Error('route is missing the requireStaff preHandler');
  return request.staff;
}

/** The cell of the signed-in staff member's institution, where every row of theirs lives. */
export function staffCellOf(cells: Cells, request: FastifyRequest): Cell {
  const { region } = staffOf(request);
  const cell = cells.get(region);
  if (!cell) throw new Error(`no cell for region ${region}`);
  return cell;
}

/**
 * Appends a staff event (docs/STAFF.md, "Audit events") to the cell's audit log, durably, before the
 * action it records; ids only, never a name, a token or a key. If the log cannot take it, the action
 * does not happen: 503 EV_ERR_STAFF_AUDIT_UNAVAILABLE.
 */
export async function auditStaffEvent(cell: Cell, institution: string, type: string, payload: AuditPayload): Promise<void> {
  try {
    await cell.audit.append({ institution, type, payload });
  } catch (e) {
    throw staffError('EV_ERR_STAFF_AUDIT_UNAVAILABLE', `the audit log could not record the ${type} event, so it was not carried out (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** A short, stable id for a secret or an authenticator's credential id in audit events: 16 hex digits of its SHA-256. */
export function auditId(value: string): string {
  return sha256Hex(value).slice(0, 16);
}

export async function endStaffSession(cell: Cell, sessionHash: string): Promise<void> {
  await deleteSession(cell.db, sessionHash);
}
