/**
 * The authorization matrix of the whole app, generated from its route table: every route it serves
 * (/healthz, /v1/openapi.json, /v1/recordings, /v1/staff, /v1/custody, and any added later) × every
 * kind of caller, in a real scenario: an institution with an admin, a reviewer without a grant, an
 * approved and a revoked reviewer, two test takers (A uploaded the recording the routes target, B has
 * an attempt and a recording of its own), and the admin of another institution. A third test taker,
 * whose attempt owns no recording at all, is held to B's column: owning nothing gives no more access
 * than owning something else.
 *
 * The expectations are test/server/authorization.ts, the one source of truth; docs/AUTHORIZATION.md
 * must state the same table row for row. A served route without an entry fails here, so a new route
 * cannot ship without deciding, and documenting, who may call it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { InjectOptions } from 'fastify';
import { type Caller, callers, expectations, judge, markdownHeader, markdownRow, routeKey, rowOf } from './authorization.js';
import { type Staff, addStaff, approve, register, registrationBody, revocationBody, scenario } from './custody/support.js';
import { startTestServer } from './support/test-server.js';
import { generateEpochKeyPair } from '../../src/crypto/index.js';
import { SEGMENTS_HEADER } from '../../src/protocol/upload.js';

const docPath = fileURLToPath(new URL('../../docs/AUTHORIZATION.md', import.meta.url));

/** Routes that end sessions or destroy the target go last, in this order. */
function phase(key: string): number {
  if (key.startsWith('DELETE ')) return 1;
  if (key === 'POST /v1/staff/sign-out') return 2;
  return 0;
}

describe('authorization matrix (every route the app serves)', () => {
  it('has an entry for every served route, and none for a route that does not exist', async (t) => {
    const s = await startTestServer(t);
    await s.app.ready();
    const keys = s.app.routeTable.map(routeKey);
    for (const prefix of ['GET /healthz', 'GET /v1/openapi.json', 'POST /v1/recordings', 'GET /v1/staff/me', 'GET /v1/custody/epoch']) {
      assert.ok(keys.includes(prefix), `the route table lacks ${prefix}`);
    }
    const missing = keys.filter((k) => !(k in expectations));
    assert.deepEqual(missing, [], `routes without an authorization entry (add them to test/server/authorization.ts and docs/AUTHORIZATION.md): ${missing.join(', ')}`);
    assert.deepEqual(Object.keys(expectations).filter((k) => !keys.includes(k)), [], 'entries for routes that do not exist');
  });

  it('is stated row for row in docs/AUTHORIZATION.md', async (t) => {
    const s = await startTestServer(t);
    await s.app.ready();
    const doc = readFileSync(docPath, 'utf8');
    assert.ok(doc.includes(markdownHeader()), 'docs/AUTHORIZATION.md lacks the matrix header');
    const lines = new Set(doc.split('\n'));
    const wrong = s.app.routeTable.map(routeKey).filter((k) => k in expectations && !lines.has(markdownRow(k)));
    assert.deepEqual(wrong, [], `docs/AUTHORIZATION.md should hold these rows exactly:\n${wrong.map((k) => markdownRow(k)).join('\n')}`);
    const documented = [...doc.matchAll(/^\| `([A-Z]+ \/[^`]*)` \|/gm)].map((m) => m[1] as string);
    assert.deepEqual(documented.filter((k) => !(k in expectations)), [], 'docs/AUTHORIZATION.md documents routes that have no entry');
  });

  it('allows or denies every route for every caller exactly as documented', async (t) => {
    const { s, inst, admin } = await scenario(t);
    const noGrant = await addStaff(s, inst, 'rev-pending', 'reviewer');
    const approved = await addStaff(s, inst, 'rev-approved', 'reviewer');
    const revoked = await addStaff(s, inst, 'rev-revoked', 'reviewer');
    for (const r of [noGrant, approved, revoked]) await register(s, r);
    for (const r of [approved, revoked]) assert.equal((await approve(s, admin, r, 1, inst.keys)).statusCode, 201);

    // Test taker A uploads the recording every route targets; B has an attempt and a recording of its
    // own; C has an attempt that owns no recording.
    const takerA = await s.attempt(inst);
    const takerB = await s.attempt(inst);
    const takerC = await s.attempt(inst);
    const sealerB = await s.sealer(takerB, 'rec-b', { maxSegment: 1000 });
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: { authorization: `Bearer ${takerB.token}`, 'content-type': 'application/octet-stream' }, payload: Buffer.from(sealerB.header.bytes) })).statusCode, 201);
    const sealer = await s.sealer(takerA, 'rec-a', { maxSegment: 1000 });
    const bearerA = { authorization: `Bearer ${takerA.token}` };
    const octetsA = { ...bearerA, 'content-type': 'application/octet-stream' };
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octetsA, payload: Buffer.from(sealer.header.bytes) })).statusCode, 201);
    const segment = await sealer.sealNext(new Uint8Array(100).fill(7), true);
    assert.equal((await s.app.inject({ method: 'PUT', url: '/v1/recordings/rec-a/segments/0', headers: octetsA, payload: Buffer.from(segment) })).statusCode, 201);
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/recordings/rec-a/complete', headers: bearerA, payload: { segmentCount: 1 } })).statusCode, 200);

    // Revoking starts epoch 2; the approved reviewer's grant is for epoch 1, the recording's: still valid.
    const epoch2 = await generateEpochKeyPair();
    assert.equal((await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: await revocationBody(admin, revoked.id, 2, epoch2) })).statusCode, 201);

    const other = await s.institution('eu');
    const otherAdmin = await addStaff(s, other, 'adm-other', 'admin');
    await register(s, otherAdmin);

    const staffOf: Partial<Record<Caller, Staff>> = { reviewerNoGrant: noGrant, approvedReviewer: approved, revokedReviewer: revoked, admin, otherInstitution: otherAdmin };
    const registrations = new Map<Staff, unknown>();
    for (const m of Object.values(staffOf)) registrations.set(m, await registrationBody(m));
    /** What an `own` answer must not mention: the targeted institution, or test taker A's attempt. */
    const foreign: Record<Caller | 'takerC', readonly string[]> = {
      anonymous: [], takerA: [], takerB: [takerA.attempt], takerC: [takerA.attempt], reviewerNoGrant: [], approvedReviewer: [], revokedReviewer: [], admin: [], otherInstitution: [inst.id],
    };
    const tokens: Partial<Record<Caller | 'takerC', string>> = { takerA: takerA.token, takerB: takerB.token, takerC: takerC.token };
    const origin = { origin: s.config.publicOrigin };

    await s.app.ready();
    const routes = [...s.app.routeTable].sort((a, b) => phase(routeKey(a)) - phase(routeKey(b)));
    assert.ok(routes.length >= 29);
    const failures: string[] = [];
    for (const route of routes) {
      const key = routeKey(route);
      const row = rowOf(key);
      const url = route.url
        .replace(':institution', inst.id).replace(':recording', 'rec-a').replace(':id', 'rec-a').replace(':n', '0')
        .replace(':exam', takerA.exam).replace(':attempt', takerA.attempt)
        .replace(':platform', 'ltp-none').replace(':name', 'autopost.js');
      assert.ok(!url.includes(':'), `no value for a parameter of ${key}: teach the matrix test its name`);
      const sending = route.method !== 'GET';
      // The admin goes last, so a route that destroys the target (DELETE) does so after every other caller met it.
      for (const caller of [...callers, 'takerC' as const].sort((a, b) => Number(a === 'admin') - Number(b === 'admin'))) {
        const staff = caller === 'takerC' ? undefined : staffOf[caller];
        const token = tokens[caller];
        const headers: Record<string, string> =
          token ? { authorization: `Bearer ${token}`, ...(sending ? origin : {}) }
          : staff ? { ...(sending ? staff.send : staff.get) }
          : sending ? { ...origin } : {};
        const options: InjectOptions = { method: route.method as InjectOptions['method'], url, headers };
        if (key === 'POST /v1/recordings' || key === 'PUT /v1/recordings/:id/segments/:n') {
          headers['content-type'] = 'application/octet-stream';
          options.payload = Buffer.alloc(64, 1);
        } else if (key === 'POST /v1/segments') {
          headers['content-type'] = 'application/octet-stream';
          headers[SEGMENTS_HEADER] = 'rec-a 0 64';
          options.payload = Buffer.alloc(64, 1);
        } else if (key === 'POST /v1/recordings/:id/complete') options.payload = { segmentCount: 1 };
        else if (key === 'POST /v1/staff/invites') options.payload = { role: 'reviewer' };
        else if (key === 'PUT /v1/custody/me/keys' && staff) options.payload = registrations.get(staff) as object;
        else if (sending && route.method !== 'DELETE') options.payload = {};
        const res = await s.app.inject(options);
        const rule = row[caller === 'takerC' ? 'takerB' : caller];
        if (!judge(rule, res, foreign[caller])) failures.push(`${key} as ${caller}: expected ${rule}, got ${res.statusCode} ${res.body.slice(0, 160)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});
