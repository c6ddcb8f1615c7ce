/**
 * HTTP routes of staff sign-in (src/protocol/staff.ts, docs/STAFF.md). Thin: check Origin, read the
 * challenge or session cookie, call the service, set cookies, answer.
 *
 * Every POST here must carry `Origin: <publicOrigin>`: the sign-in routes have no session to bind a
 * CSRF token to, so the Origin check (with SameSite=Strict cookies and JSON-only bodies) is what
 * stops a page on another site from driving them. Session routes also check `x-ev-csrf` (staff-auth.ts).
 */
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { STAFF_CHALLENGE_COOKIE, STAFF_SESSION_COOKIE, type StaffInviteCreated, type StaffMe } from '../../protocol/staff.js';
import type { DirectoryDatabase } from '../db/schema.js';
import type { Cells } from '../regions/cell.types.js';
import { clearedCookie, hostCookie, readCookie } from './cookies.js';
import { STAFF_SESSION_TTL_MS, auditStaffEvent, authenticateStaff, checkOrigin, endStaffSession, requireStaff, staffError, staffOf } from './staff-auth.js';
import { CHALLENGE_TTL_MS, MAX_INVITE_TTL_S, MIN_INVITE_TTL_S, type SignedIn, finishRegistration, finishSignIn, issueStaffInvite, relyingParty, startRegistration, startSignIn } from './staff.service.js';
import type { StaffAuthContext } from './staff.types.js';

export interface StaffRoutesOptions {
  readonly cells: Cells;
  readonly directory: Kysely<DirectoryDatabase>;
  readonly publicOrigin: string;
  readonly clock?: () => number;
}

/** Reviewer invites made through the API live a day unless the admin asks otherwise. */
const DEFAULT_REVIEWER_INVITE_TTL_S = 24 * 3600;

const credentialSchema = {
  type: 'object',
  required: ['id', 'rawId', 'type', 'response'],
  properties: {
    id: { type: 'string', maxLength: 1024 },
    rawId: { type: 'string', maxLength: 1024 },
    type: { type: 'string', const: 'public-key' },
    response: { type: 'object' },
    authenticatorAttachment: { type: 'string' },
    clientExtensionResults: { type: 'object' },
  },
  additionalProperties: false,
} as const;

function bodyOf(fields: Record<string, unknown>, required: readonly string[]) {
  return { type: 'object', required, properties: fields, additionalProperties: false } as const;
}

export const staffRoutes: FastifyPluginAsync<StaffRoutesOptions> = async (app, { cells, directory, publicOrigin, clock = Date.now }) => {
  const rp = relyingParty(publicOrigin);
  const context: StaffAuthContext = { cells, publicOrigin, clock };

  function startCeremony(reply: FastifyReply, id: string): void {
    void reply.header('set-cookie', hostCookie(STAFF_CHALLENGE_COOKIE, id, CHALLENGE_TTL_MS / 1000));
  }

  function signedIn(reply: FastifyReply, { principal, session }: SignedIn): StaffMe {
    void reply.header('set-cookie', [
      clearedCookie(STAFF_CHALLENGE_COOKIE),
      hostCookie(STAFF_SESSION_COOKIE, session.token, STAFF_SESSION_TTL_MS / 1000),
    ]);
    return { ...principal, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  }

  const ceremonyId = (request: FastifyRequest) => readCookie(request.headers.cookie, STAFF_CHALLENGE_COOKIE);

  app.post<{ Body: { token: string } }>('/staff/invites/redeem', {
    schema: { body: bodyOf({ token: { type: 'string', maxLength: 200 } }, ['token']) },
  }, async (request, reply) => {
    checkOrigin(request, publicOrigin);
    const ceremony = await startRegistration(cells, rp, request.body.token, clock());
    startCeremony(reply, ceremony.id);
    return { options: ceremony.options };
  });

  app.post<{ Body: { response: RegistrationResponseJSON } }>('/staff/registration', {
    schema: { body: bodyOf({ response: credentialSchema }, ['response']) },
  }, async (request, reply) => {
    checkOrigin(request, publicOrigin);
    return signedIn(reply, await finishRegistration(cells, rp, ceremonyId(request), request.body.response, clock()));
  });

  app.post('/staff/sign-in/options', {
    schema: { body: bodyOf({}, []) },
  }, async (request, reply) => {
    checkOrigin(request, publicOrigin);
    const ceremony = await startSignIn(cells, rp, clock());
    startCeremony(reply, ceremony.id);
    return { options: ceremony.options };
  });

  app.post<{ Body: { response: AuthenticationResponseJSON } }>('/staff/sign-in', {
    schema: { body: bodyOf({ response: credentialSchema }, ['response']) },
  }, async (request, reply) => {
    checkOrigin(request, publicOrigin);
    return signedIn(reply, await finishSignIn(cells, rp, ceremonyId(request), request.body.response, clock()));
  });

  app.post('/staff/sign-out', async (request, reply) => {
    const { cell, sessionHash, principal } = await authenticateStaff(request, context);
    await auditStaffEvent(cell, principal.institution, 'staff.signed-out', { staff: principal.staffId });
    await endStaffSession(cell, sessionHash);
    return reply.code(204).header('set-cookie', clearedCookie(STAFF_SESSION_COOKIE)).send();
  });

  app.get('/staff/me', async (request): Promise<StaffMe> => {
    const { principal, csrfToken, expiresAt } = await authenticateStaff(request, context);
    return { ...principal, csrfToken, expiresAt };
  });

  app.post<{ Body: { role: 'admin' | 'reviewer'; institution?: string; ttlSeconds?: number } }>('/staff/invites', {
    schema: {
      body: bodyOf({
        role: { type: 'string', enum: ['admin', 'reviewer'] },
        institution: { type: 'string', maxLength: 64 },
        ttlSeconds: { type: 'integer', minimum: MIN_INVITE_TTL_S, maximum: MAX_INVITE_TTL_S },
      }, ['role']),
    },
    preHandler: requireStaff(['admin'], context),
  }, async (request, reply): Promise<StaffInviteCreated> => {
    const admin = staffOf(request);
    const { role, institution, ttlSeconds } = request.body;
    // Admins are invited by the operator (`examvault admins invite`); through the API, reviewers only.
    if (role !== 'reviewer') throw staffError('EV_ERR_STAFF_ROLE_FORBIDDEN', 'admins invite reviewers; admins are invited by the operator');
    if (institution !== undefined && institution !== admin.institution) throw staffError('EV_ERR_STAFF_WRONG_INSTITUTION', 'an admin invites into their own institution only');
    const issued = await issueStaffInvite(cells, directory, {
      institution: admin.institution,
      role,
      ttlSeconds: ttlSeconds ?? DEFAULT_REVIEWER_INVITE_TTL_S,
      createdBy: admin.staffId,
      publicOrigin,
    }, clock());
    void reply.code(201);
    return { setupUrl: issued.setupUrl, role: issued.role, institution: issued.institution, expiresAt: issued.expiresAt };
  });
};
