/**
 * Staff sign-in refusals, by injection: every way in that must not work answers 4xx with its own
 * code. (The successful ceremonies, with a real authenticator, are in passkey.browser.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { Cell } from '../../../src/server/regions/cell.types.js';
import { readCookie } from '../../../src/server/staff/cookies.js';
import { createStaffSession } from '../../../src/server/staff/staff-auth.js';
import { consumeInvite, insertStaff } from '../../../src/server/staff/staff.repository.js';
import { issueStaffInvite } from '../../../src/server/staff/staff.service.js';
import type { StaffRole } from '../../../src/server/staff/staff.types.js';
import { newId } from '../../../src/server/ids.js';
import { sha256Hex } from '../../../src/server/staff/staff-auth.js';
import { type TestInstitution, type TestServer, startTestServer } from '../support/test-server.js';

async function staffMember(s: TestServer, inst: TestInstitution, role: StaffRole) {
  const cell = s.services.cells.get(inst.region) as Cell;
  const id = newId('stf');
  await insertStaff(cell.db, { id, institution_id: inst.id, role, label: null, created_at: s.now, disabled_at: null });
  const session = await createStaffSession(cell, id, s.now);
  return { id, session };
}

async function invite(s: TestServer, inst: TestInstitution, ttlSeconds = 3600) {
  const issued = await issueStaffInvite(s.services.cells, s.services.directory, { institution: inst.id, role: 'admin', ttlSeconds, createdBy: null, publicOrigin: s.config.publicOrigin }, s.now);
  return new URL(issued.setupUrl).hash.slice(1);
}

function code(res: { statusCode: number; json(): { error?: { code: string } } }): [number, string | undefined] {
  return [res.statusCode, res.json().error?.code];
}

describe('staff invites', () => {
  it('redeeming gives registration options bound to the public origin and a __Host- challenge cookie', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const res = await s.app.inject({ method: 'POST', url: '/v1/staff/invites/redeem', headers: { origin: s.config.publicOrigin }, payload: { token: await invite(s, inst) } });
    assert.equal(res.statusCode, 200);
    const { options } = res.json();
    assert.equal(options.rp.id, new URL(s.config.publicOrigin).hostname);
    assert.equal(options.authenticatorSelection.residentKey, 'required');
    assert.equal(options.authenticatorSelection.userVerification, 'required');
    assert.match(Buffer.from(options.user.id, 'base64url').toString('utf8'), /^stf-/);
    const cookie = String(res.headers['set-cookie']);
    assert.match(cookie, /^__Host-ev_webauthn=evc1\.eu\.[A-Za-z0-9_-]{43}; Max-Age=300; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
  });

  it('refuses an unknown, expired or used invite', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const redeem = (token: string) => s.app.inject({ method: 'POST', url: '/v1/staff/invites/redeem', headers: { origin: s.config.publicOrigin }, payload: { token } });
    assert.deepEqual(code(await redeem('evi1.eu.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')), [400, 'EV_ERR_STAFF_INVITE_INVALID']);
    assert.deepEqual(code(await redeem('not-a-token')), [400, 'EV_ERR_STAFF_INVITE_INVALID']);
    const expiring = await invite(s, inst, 600);
    s.now += 600_000;
    assert.deepEqual(code(await redeem(expiring)), [410, 'EV_ERR_STAFF_INVITE_EXPIRED']);
    const used = await invite(s, inst);
    await consumeInvite((s.services.cells.get('eu') as Cell).db, sha256Hex(used), s.now);
    assert.deepEqual(code(await redeem(used)), [410, 'EV_ERR_STAFF_INVITE_USED']);
  });

  it('refuses a POST from another origin, or with no Origin', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const token = await invite(s, inst);
    for (const headers of [{ origin: 'https://evil.example' }, { origin: `${s.config.publicOrigin}.evil.example` }, {}]) {
      const res = await s.app.inject({ method: 'POST', url: '/v1/staff/invites/redeem', headers, payload: { token } });
      assert.deepEqual(code(res), [403, 'EV_ERR_STAFF_BAD_ORIGIN']);
    }
    const options = await s.app.inject({ method: 'POST', url: '/v1/staff/sign-in/options', headers: { origin: 'https://evil.example' }, payload: {} });
    assert.deepEqual(code(options), [403, 'EV_ERR_STAFF_BAD_ORIGIN']);
  });

  it('stores only hashes of invite tokens', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const token = await invite(s, inst);
    const rows = await (s.services.cells.get('eu') as Cell).db.selectFrom('staff_invites').selectAll().execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.token_hash, sha256Hex(token));
    assert.ok(!JSON.stringify(rows).includes(token.split('.')[2] as string));
  });
});

describe('passkey ceremonies', () => {
  const fakeCredential = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: {}, clientExtensionResults: {} };

  it('refuses a response without a pending challenge, with an expired one, or one of the other kind', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const origin = s.config.publicOrigin;
    const post = (url: string, cookie?: string) =>
      s.app.inject({ method: 'POST', url, headers: { origin, ...(cookie ? { cookie } : {}) }, payload: { response: fakeCredential } });
    assert.deepEqual(code(await post('/v1/staff/registration')), [400, 'EV_ERR_STAFF_CHALLENGE_INVALID']);
    assert.deepEqual(code(await post('/v1/staff/sign-in')), [400, 'EV_ERR_STAFF_CHALLENGE_INVALID']);
    assert.deepEqual(code(await post('/v1/staff/sign-in', '__Host-ev_webauthn=evc1.eu.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')), [400, 'EV_ERR_STAFF_CHALLENGE_INVALID']);

    // A sign-in challenge is not a registration challenge (and is used up by trying).
    const signIn = await s.app.inject({ method: 'POST', url: '/v1/staff/sign-in/options', headers: { origin }, payload: {} });
    const signInCookie = String(signIn.headers['set-cookie']).split(';')[0] as string;
    assert.deepEqual(code(await post('/v1/staff/registration', signInCookie)), [400, 'EV_ERR_STAFF_CHALLENGE_INVALID']);

    // Expired after five minutes.
    const redeemed = await s.app.inject({ method: 'POST', url: '/v1/staff/invites/redeem', headers: { origin }, payload: { token: await invite(s, inst) } });
    const cookie = String(redeemed.headers['set-cookie']).split(';')[0] as string;
    s.now += 5 * 60_000;
    assert.deepEqual(code(await post('/v1/staff/registration', cookie)), [400, 'EV_ERR_STAFF_CHALLENGE_INVALID']);
  });

  it('a response that does not verify fails and uses up the challenge', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const origin = s.config.publicOrigin;
    const redeemed = await s.app.inject({ method: 'POST', url: '/v1/staff/invites/redeem', headers: { origin }, payload: { token: await invite(s, inst) } });
    const cookie = String(redeemed.headers['set-cookie']).split(';')[0] as string;
    const post = () => s.app.inject({ method: 'POST', url: '/v1/staff/registration', headers: { origin, cookie }, payload: { response: fakeCredential } });
    assert.deepEqual(code(await post()), [400, 'EV_ERR_STAFF_REGISTRATION_FAILED']);
    assert.deepEqual(code(await post()), [400, 'EV_ERR_STAFF_CHALLENGE_INVALID']);

    const options = await s.app.inject({ method: 'POST', url: '/v1/staff/sign-in/options', headers: { origin }, payload: {} });
    const signInCookie = String(options.headers['set-cookie']).split(';')[0] as string;
    const signIn = await s.app.inject({ method: 'POST', url: '/v1/staff/sign-in', headers: { origin, cookie: signInCookie }, payload: { response: fakeCredential } });
    assert.deepEqual(code(signIn), [401, 'EV_ERR_STAFF_SIGN_IN_FAILED']);
  });
});

describe('staff sessions', () => {
  it('me answers with the principal; missing, unknown and expired sessions are refused', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const { id, session } = await staffMember(s, inst, 'reviewer');
    const me = (cookie?: string) => s.app.inject({ method: 'GET', url: '/v1/staff/me', headers: cookie ? { cookie } : {} });
    const ok = await me(`other=1; ${session.cookie}`);
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { staffId: id, institution: inst.id, region: 'eu', role: 'reviewer', csrfToken: session.csrfToken, expiresAt: session.expiresAt });
    assert.deepEqual(code(await me()), [401, 'EV_ERR_SESSION_MISSING']);
    assert.deepEqual(code(await me('__Host-ev_session=evs1.eu.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')), [401, 'EV_ERR_SESSION_INVALID']);
    assert.deepEqual(code(await me('__Host-ev_session=evs1.zz.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')), [401, 'EV_ERR_SESSION_INVALID']);
    s.now += 8 * 3600_000;
    assert.deepEqual(code(await me(session.cookie)), [401, 'EV_ERR_SESSION_EXPIRED']);
  });

  it('a state-changing call needs the CSRF token of its own session and the public Origin', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const admin = await staffMember(s, inst, 'admin');
    const other = await staffMember(s, inst, 'admin');
    const origin = s.config.publicOrigin;
    const post = (headers: Record<string, string>) => s.app.inject({ method: 'POST', url: '/v1/staff/invites', headers: { cookie: admin.session.cookie, ...headers }, payload: { role: 'reviewer' } });
    assert.deepEqual(code(await post({ origin })), [403, 'EV_ERR_SESSION_CSRF']);
    assert.deepEqual(code(await post({ origin, 'x-ev-csrf': 'wrong' })), [403, 'EV_ERR_SESSION_CSRF']);
    assert.deepEqual(code(await post({ origin, 'x-ev-csrf': other.session.csrfToken })), [403, 'EV_ERR_SESSION_CSRF']);
    assert.deepEqual(code(await post({ origin: 'https://evil.example', 'x-ev-csrf': admin.session.csrfToken })), [403, 'EV_ERR_STAFF_BAD_ORIGIN']);
    assert.deepEqual(code(await post({ 'x-ev-csrf': admin.session.csrfToken })), [403, 'EV_ERR_STAFF_BAD_ORIGIN']);
    const ok = await post({ origin, 'x-ev-csrf': admin.session.csrfToken });
    assert.equal(ok.statusCode, 201);
    assert.equal(ok.json().institution, inst.id);
    const signOut = await s.app.inject({ method: 'POST', url: '/v1/staff/sign-out', headers: { cookie: admin.session.cookie, origin } });
    assert.deepEqual(code(signOut), [403, 'EV_ERR_SESSION_CSRF']);
  });

  it('only an admin invites, only reviewers, only into their own institution', async (t) => {
    const s = await startTestServer(t);
    const mine = await s.institution();
    const theirs = await s.institution();
    const origin = s.config.publicOrigin;
    const post = (who: { session: { cookie: string; csrfToken: string } }, payload: object) =>
      s.app.inject({ method: 'POST', url: '/v1/staff/invites', headers: { cookie: who.session.cookie, origin, 'x-ev-csrf': who.session.csrfToken }, payload });
    const reviewer = await staffMember(s, mine, 'reviewer');
    const admin = await staffMember(s, mine, 'admin');
    const otherAdmin = await staffMember(s, theirs, 'admin');
    assert.deepEqual(code(await post(reviewer, { role: 'reviewer' })), [403, 'EV_ERR_STAFF_ROLE_FORBIDDEN']);
    assert.deepEqual(code(await post(admin, { role: 'admin' })), [403, 'EV_ERR_STAFF_ROLE_FORBIDDEN']);
    assert.deepEqual(code(await post(otherAdmin, { role: 'reviewer', institution: mine.id })), [403, 'EV_ERR_STAFF_WRONG_INSTITUTION']);
    assert.deepEqual(code(await post(admin, { role: 'reviewer', ttlSeconds: 10 })), [400, 'EV_ERR_API_BAD_REQUEST']);
    const ok = await post(admin, { role: 'reviewer', institution: mine.id });
    assert.equal(ok.statusCode, 201);
    assert.equal(ok.json().role, 'reviewer');
    const theirsOk = await post(otherAdmin, { role: 'reviewer' });
    assert.equal(theirsOk.json().institution, theirs.id);
  });

  it('sign-out ends the session on the server and clears the cookie', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const { session } = await staffMember(s, inst, 'reviewer');
    const res = await s.app.inject({ method: 'POST', url: '/v1/staff/sign-out', headers: { cookie: session.cookie, origin: s.config.publicOrigin, 'x-ev-csrf': session.csrfToken } });
    assert.equal(res.statusCode, 204);
    assert.match(String(res.headers['set-cookie']), /^__Host-ev_session=x; Max-Age=0; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    const me = await s.app.inject({ method: 'GET', url: '/v1/staff/me', headers: { cookie: session.cookie } });
    assert.deepEqual(code(me), [401, 'EV_ERR_SESSION_INVALID']);
  });
});

describe('staff audit events', () => {
  async function events(cell: Cell): Promise<{ institution: string | null; type: string; payload: Record<string, unknown> }[]> {
    const rows = await cell.db.selectFrom('audit_log').selectAll().where('type', 'like', 'staff.%').orderBy('seq').execute();
    return rows.map((r) => ({ institution: r.institution_id, type: r.type, payload: JSON.parse(Buffer.from(r.payload).toString('utf8')) as Record<string, unknown> }));
  }

  it('logs invites and sign-outs with ids only, before acting; with the log down nothing is issued or ended', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution();
    const cell = s.services.cells.get(inst.region) as Cell;
    const origin = s.config.publicOrigin;
    const token = await invite(s, inst);
    const admin = await staffMember(s, inst, 'admin');
    const headers = { cookie: admin.session.cookie, origin, 'x-ev-csrf': admin.session.csrfToken };
    const issued = await s.app.inject({ method: 'POST', url: '/v1/staff/invites', headers, payload: { role: 'reviewer' } });
    assert.equal(issued.statusCode, 201);
    const reviewerToken = new URL(issued.json().setupUrl).hash.slice(1);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/staff/sign-out', headers })).statusCode, 204);

    const logged = await events(cell);
    assert.deepEqual(logged.map((e) => e.type), ['staff.invite-issued', 'staff.invite-issued', 'staff.signed-out']);
    assert.ok(logged.every((e) => e.institution === inst.id));
    assert.deepEqual(logged[0]?.payload, { invite: sha256Hex(token).slice(0, 16), role: 'admin', by: 'operator', expiresAt: s.now + 3600_000 });
    assert.equal(logged[1]?.payload.by, admin.id);
    assert.equal(logged[1]?.payload.invite, sha256Hex(reviewerToken).slice(0, 16));
    assert.deepEqual(logged[2]?.payload, { staff: admin.id });
    const all = JSON.stringify(logged);
    for (const secret of [token, reviewerToken, admin.session.token, admin.session.csrfToken]) assert.ok(!all.includes(secret.split('.').pop() as string));

    // The log cannot take appends: no invite is issued, and sign-out is refused (the session stays).
    const other = await staffMember(s, inst, 'admin');
    const otherHeaders = { cookie: other.session.cookie, origin, 'x-ev-csrf': other.session.csrfToken };
    const invitesBefore = (await cell.db.selectFrom('staff_invites').select('token_hash').execute()).length;
    await sql`ALTER TABLE audit_log RENAME TO audit_log_away`.execute(cell.db);
    assert.deepEqual(code(await s.app.inject({ method: 'POST', url: '/v1/staff/invites', headers: otherHeaders, payload: { role: 'reviewer' } })), [503, 'EV_ERR_STAFF_AUDIT_UNAVAILABLE']);
    assert.deepEqual(code(await s.app.inject({ method: 'POST', url: '/v1/staff/sign-out', headers: otherHeaders })), [503, 'EV_ERR_STAFF_AUDIT_UNAVAILABLE']);
    await sql`ALTER TABLE audit_log_away RENAME TO audit_log`.execute(cell.db);
    assert.equal((await cell.db.selectFrom('staff_invites').select('token_hash').execute()).length, invitesBefore);
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/staff/me', headers: { cookie: other.session.cookie } })).statusCode, 200);
  });
});

describe('cookie header parsing', () => {
  it('finds a cookie by exact name and ignores malformed values', () => {
    assert.equal(readCookie('a=1; __Host-ev_session=evs1.eu.x; b=2', '__Host-ev_session'), 'evs1.eu.x');
    assert.equal(readCookie('x__Host-ev_session=1', '__Host-ev_session'), null);
    assert.equal(readCookie('__Host-ev_session="quoted"', '__Host-ev_session'), null);
    assert.equal(readCookie('__Host-ev_session=a b', '__Host-ev_session'), null);
    assert.equal(readCookie('novalue; __Host-ev_session=ok', '__Host-ev_session'), 'ok');
    assert.equal(readCookie(undefined, '__Host-ev_session'), null);
    assert.equal(readCookie(['a=1'], 'a'), null);
  });
});
