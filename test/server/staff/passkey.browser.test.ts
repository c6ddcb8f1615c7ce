/**
 * Staff sign-in end to end with a real WebAuthn ceremony: the real app listens on HTTPS (its own
 * self-signed localhost certificate, which this one Chromium is told to accept), Chromium's CDP
 * virtual authenticator (CTAP2, resident keys, user verification) makes and uses the passkey, and
 * @simplewebauthn/browser drives navigator.credentials exactly as the admin pages will. Cookies live in
 * the browser's own jar, so `__Host-`, Secure, HttpOnly and SameSite are the browser's to enforce.
 *
 * The app serves nothing but the API, so the test adds two routes to this instance only: a blank page
 * and the @simplewebauthn/browser bundle, at the same origin as the API.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { exportPublicKey, generateEpochKeyPair, toBase64Url } from '../../../src/crypto/index.js';
import { createInstitution } from '../../../src/server/institutions/institution.service.js';
import { issueStaffInvite } from '../../../src/server/staff/staff.service.js';
import { chromiumArgs } from '../../support/browser.js';
import { startHttpsApp } from '../../support/https-app.js';
import { chromiumTool, requireTool } from '../../support/system-tools.js';

const bundle = new URL('../../../node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js', import.meta.url);

interface Reply {
  status: number;
  body: { error?: { code: string } } & Record<string, unknown>;
}

describe('staff passkeys in a real browser', () => {
  it('invite → passkey registration → session → me → sign-out → passkey sign-in, and no replay', { timeout: 60_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    const script = await readFile(bundle);
    const { origin, services, app, closesFirst } = await startHttpsApp(t, {
      routes: (a) => {
        a.get('/', async (_request, reply) => reply
          .header('content-security-policy', "default-src 'none'; script-src 'self'; connect-src 'self'")
          .type('text/html; charset=utf-8')
          .send('<!doctype html><meta charset="utf-8"><title>staff</title><script src="/swa.js"></script>'));
        a.get('/swa.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
      },
    });

    const keys = await generateEpochKeyPair();
    const inst = await createInstitution(services.cells, services.directory, { name: 'Passkey U', region: 'eu', epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)) }, Date.now());
    const invite = await issueStaffInvite(services.cells, services.directory, { institution: inst.id, role: 'admin', ttlSeconds: 3600, createdBy: null, publicOrigin: origin }, Date.now());
    assert.ok(invite.setupUrl.startsWith(`${origin}/staff/setup#evi1.eu.`));

    // Only this browser accepts the test's self-signed certificate.
    const browser = closesFirst(await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, '--ignore-certificate-errors'] }));
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort('blockedbyclient')));
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });

    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
      page.evaluate(async ([m, p, b, h]) => {
        const r = await fetch(p as string, {
          method: m as string,
          headers: { ...(b === undefined ? {} : { 'content-type': 'application/json' }), ...(h as Record<string, string>) },
          body: b === undefined ? undefined : JSON.stringify(b),
        });
        const text = await r.text();
        return { status: r.status, body: text ? JSON.parse(text) : {} };
      }, [method, path, body, headers] as const);

    // Redeem the invite and register a passkey (the token comes from the link's fragment).
    const token = new URL(invite.setupUrl).hash.slice(1);
    const redeemed = await call('POST', '/v1/staff/invites/redeem', { token });
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
    const registration = await page.evaluate(async (optionsJSON) => {
      const swa = (globalThis as unknown as { SimpleWebAuthnBrowser: { startRegistration(o: unknown): Promise<Record<string, unknown>> } }).SimpleWebAuthnBrowser;
      const response = await swa.startRegistration({ optionsJSON });
      return { ...response, clientExtensionResults: {} };
    }, redeemed.body.options);
    const ceremonyCookie = (await context.cookies(origin)).find((c) => c.name === '__Host-ev_webauthn');
    assert.ok(ceremonyCookie?.httpOnly && ceremonyCookie.secure && ceremonyCookie.sameSite === 'Strict');
    const registered = await call('POST', '/v1/staff/registration', { response: registration });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    assert.equal(registered.body.role, 'admin');
    assert.equal(registered.body.institution, inst.id);
    const staffId = registered.body.staffId as string;
    assert.match(staffId, /^stf-/);

    const session = (await context.cookies(origin)).find((c) => c.name === '__Host-ev_session');
    assert.ok(session?.httpOnly && session.secure && session.sameSite === 'Strict' && session.path === '/');
    assert.equal(await page.evaluate(() => document.cookie), '', 'no staff cookie is readable by scripts');

    // The passkey is a discoverable credential for this relying party, bound to the opaque staff id.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]?.isResidentCredential, true);
    assert.equal(credentials[0]?.rpId, 'localhost');
    assert.equal(Buffer.from(credentials[0]?.userHandle ?? '', 'base64').toString('utf8'), staffId);

    const me = await call('GET', '/v1/staff/me');
    assert.equal(me.status, 200);
    assert.deepEqual({ ...me.body, expiresAt: 0 }, { staffId, institution: inst.id, region: 'eu', role: 'admin', csrfToken: registered.body.csrfToken, expiresAt: 0 });

    // The invite worked once; the registration response does not work twice.
    assert.equal((await call('POST', '/v1/staff/invites/redeem', { token })).body.error?.code, 'EV_ERR_STAFF_INVITE_USED');
    const replayed = await app.inject({
      method: 'POST',
      url: '/v1/staff/registration',
      headers: { origin, cookie: `__Host-ev_webauthn=${ceremonyCookie.value}` },
      payload: { response: registration },
    });
    assert.equal(replayed.statusCode, 400);
    assert.equal(replayed.json().error.code, 'EV_ERR_STAFF_CHALLENGE_INVALID');

    // The admin invites a reviewer: needs the CSRF token.
    assert.equal((await call('POST', '/v1/staff/invites', { role: 'reviewer' })).body.error?.code, 'EV_ERR_SESSION_CSRF');
    const reviewerInvite = await call('POST', '/v1/staff/invites', { role: 'reviewer' }, { 'x-ev-csrf': me.body.csrfToken as string });
    assert.equal(reviewerInvite.status, 201, JSON.stringify(reviewerInvite.body));
    assert.ok((reviewerInvite.body.setupUrl as string).startsWith(`${origin}/staff/setup#evi1.eu.`));

    // Sign out: the cookie is cleared and the session is gone on the server.
    assert.equal((await call('POST', '/v1/staff/sign-out', undefined, { 'x-ev-csrf': me.body.csrfToken as string })).status, 204);
    assert.equal((await context.cookies(origin)).find((c) => c.name === '__Host-ev_session'), undefined);
    assert.equal((await call('GET', '/v1/staff/me')).body.error?.code, 'EV_ERR_SESSION_MISSING');
    const stale = await app.inject({ method: 'GET', url: '/v1/staff/me', headers: { cookie: `__Host-ev_session=${session.value}` } });
    assert.equal(stale.json().error.code, 'EV_ERR_SESSION_INVALID');

    // Sign in again with the passkey, choosing no user (discoverable credential).
    const options = await call('POST', '/v1/staff/sign-in/options', {});
    assert.equal(options.status, 200);
    const assertion = await page.evaluate(async (optionsJSON) => {
      const swa = (globalThis as unknown as { SimpleWebAuthnBrowser: { startAuthentication(o: unknown): Promise<Record<string, unknown>> } }).SimpleWebAuthnBrowser;
      const response = await swa.startAuthentication({ optionsJSON });
      return { ...response, clientExtensionResults: {} };
    }, options.body.options);
    const signInCookie = (await context.cookies(origin)).find((c) => c.name === '__Host-ev_webauthn');
    const signedIn = await call('POST', '/v1/staff/sign-in', { response: assertion });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.staffId, staffId);
    const meAgain = await call('GET', '/v1/staff/me');
    assert.equal(meAgain.status, 200);
    assert.equal(meAgain.body.staffId, staffId);
    assert.notEqual(meAgain.body.csrfToken, me.body.csrfToken, 'a new session has a new CSRF token');

    // A captured assertion cannot be replayed: its challenge was used.
    const replayedSignIn = await app.inject({
      method: 'POST',
      url: '/v1/staff/sign-in',
      headers: { origin, cookie: `__Host-ev_webauthn=${signInCookie?.value ?? ''}` },
      payload: { response: assertion },
    });
    assert.equal(replayedSignIn.statusCode, 400);
    assert.equal(replayedSignIn.json().error.code, 'EV_ERR_STAFF_CHALLENGE_INVALID');

    // Every step is in the institution's audit log, by ids only: no token, no credential id, no key.
    const cell = services.cells.get('eu');
    assert.ok(cell);
    const logged = (await cell.db.selectFrom('audit_log').selectAll().where('type', 'like', 'staff.%').orderBy('seq').execute())
      .map((r) => ({ institution: r.institution_id, type: r.type, payload: JSON.parse(Buffer.from(r.payload).toString('utf8')) as Record<string, unknown> }));
    assert.deepEqual(logged.map((e) => e.type), ['staff.invite-issued', 'staff.invite-redeemed', 'staff.passkey-registered', 'staff.invite-issued', 'staff.signed-out', 'staff.signed-in']);
    assert.ok(logged.every((e) => e.institution === inst.id));
    const credentialId = (registration as { id?: unknown }).id as string;
    const credential = createHash('sha256').update(credentialId).digest('hex').slice(0, 16);
    assert.deepEqual(logged[1]?.payload, { invite: logged[0]?.payload.invite, staff: staffId, role: 'admin' });
    assert.deepEqual(logged[2]?.payload, { staff: staffId, credential });
    assert.deepEqual(logged[5]?.payload, { staff: staffId, credential });
    const text = JSON.stringify(logged);
    for (const secret of [token.split('.')[2] as string, credentialId, session.value.split('.')[2] as string]) assert.ok(!text.includes(secret));
  });
});
