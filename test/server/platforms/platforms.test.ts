/**
 * Assessment platforms and passcodes against the real app, real SQLite cells and a clock the test
 * moves: registration and revocation, what is stored (hashes only), single use, expiry, typos, and
 * the scope of a platform's API key.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Platform } from '../../../src/protocol/passcodes.js';
import { openPasscodeKey } from '../../../src/server/platforms/passcode-key.js';
import { webhookUrlProblem } from '../../../src/server/platforms/webhook-outbox.js';
import { cellDir } from '../../../src/server/regions/cells.js';
import { addStaff } from '../custody/support.js';
import { filesContaining, readAllFiles } from '../support/data-files.js';
import { bearer, startTestServer } from '../support/test-server.js';
import { createPlatformExam, issuePasscode, redeem, registerTestPlatform } from './support.js';

describe('assessment platforms', () => {
  it('are registered by an admin: the API key and webhook secret are shown once and stored nowhere', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst);
    assert.match(platform.apiKey, /^evp1\.eu\.[A-Za-z0-9_-]{43}$/);
    assert.match(platform.webhookSecret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.equal(platform.institution, inst.id);

    const list = await s.app.inject({ method: 'GET', url: '/v1/platforms', headers: platform.admin.get });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json<{ platforms: Platform[] }>().platforms.map((p) => p.platform), [platform.platform]);
    assert.ok(!list.body.includes(platform.apiKey) && !list.body.includes(platform.webhookSecret));

    const cell = s.services.cells.get('eu');
    const events = await cell!.db.selectFrom('audit_log').select(['type', 'institution_id']).execute();
    assert.ok(events.some((e) => e.type === 'platform.registered' && e.institution_id === inst.id));

    await s.services.cells.get('eu')!.audit.idle();
    const files = await readAllFiles(s.dataDir);
    assert.deepEqual(filesContaining(files, platform.apiKey), []);
    assert.deepEqual(filesContaining(files, platform.apiKey.split('.')[2] as string), []);
    assert.deepEqual(filesContaining(files, platform.webhookSecret), []);
  });

  it('refuses webhook URLs that are not https or that name a private address', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-hooks', 'admin');
    for (const webhookUrl of ['http://assess.example.org/hooks', 'https://user:pw@assess.example.org/hooks', 'ftp://assess.example.org/', 'not a url']) {
      const res = await s.app.inject({ method: 'POST', url: '/v1/platforms', headers: admin.send, payload: { name: 'P', webhookUrl } });
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'EV_ERR_PLATFORM_INVALID_REQUEST', webhookUrl);
    }
    for (const url of ['https://127.0.0.1/h', 'https://localhost/h', 'https://10.1.2.3/h', 'https://192.168.1.1/h', 'https://[::1]/h', 'https://169.254.169.254/latest', 'https://[fd00::1]/h']) {
      assert.ok(webhookUrlProblem(url, false), url);
    }
    assert.equal(webhookUrlProblem('https://assess.example.org/examvault/webhooks', false), null);
  });

  it('issue passcodes that a test taker redeems, once, for a working attempt credential', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst);
    await createPlatformExam(s, platform, 'chem-101');
    const issued = await issuePasscode(s, platform, 'chem-101', { attempt: 'attempt-0001' });
    assert.match(issued.passcode, /^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$/);
    assert.deepEqual([issued.institution, issued.exam, issued.attempt], [inst.id, 'chem-101', 'attempt-0001']);

    // Typed in lower case without hyphens: the same passcode.
    const first = await redeem(s, issued.passcode.toLowerCase().replace(/-/g, ''));
    assert.equal(first.statusCode, 200, JSON.stringify(first.body));
    assert.match(first.body.token, /^ev1\.eu\./);
    assert.deepEqual([first.body.institution, first.body.exam, first.body.attempt, first.body.title], [inst.id, 'chem-101', 'attempt-0001', 'Exam chem-101']);
    // The credential is the upload API's: it authenticates (404: no such recording, rather than 401).
    const probe = await s.app.inject({ method: 'GET', url: '/v1/recordings/rec-none', headers: bearer(first.body.token) });
    assert.equal(probe.statusCode, 404, probe.body);

    const second = await redeem(s, issued.passcode);
    assert.deepEqual([second.statusCode, second.code], [410, 'EV_ERR_PASSCODE_USED']);

    // Two redemptions at once: exactly one wins.
    const again = await issuePasscode(s, platform, 'chem-101');
    const race = await Promise.all(Array.from({ length: 8 }, (_, i) => redeem(s, again.passcode, `198.51.100.${i + 1}`)));
    assert.equal(race.filter((r) => r.statusCode === 200).length, 1);
    assert.ok(race.filter((r) => r.statusCode !== 200).every((r) => r.code === 'EV_ERR_PASSCODE_USED'));
  });

  it('refuses an expired passcode', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst);
    await createPlatformExam(s, platform, 'chem-101');
    const issued = await issuePasscode(s, platform, 'chem-101', { ttlSeconds: 600 });
    s.now += 600_000;
    const late = await redeem(s, issued.passcode);
    assert.deepEqual([late.statusCode, late.code], [410, 'EV_ERR_PASSCODE_EXPIRED']);
    const bounds = await s.app.inject({ method: 'POST', url: '/v1/platform/exams/chem-101/passcodes', headers: platform.key, payload: { ttlSeconds: 10 } });
    assert.equal(bounds.json<{ error: { code: string } }>().error.code, 'EV_ERR_PLATFORM_INVALID_REQUEST');
  });

  it('tells a typo from a wrong passcode, without spending the guessing budget on typos', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst);
    await createPlatformExam(s, platform, 'chem-101');
    const issued = await issuePasscode(s, platform, 'chem-101');
    const chars = [...issued.passcode];
    const i = 8;
    chars[i] = chars[i] === 'A' ? 'B' : 'A';
    for (let n = 0; n < 50; n++) {
      const typo = await redeem(s, chars.join(''));
      assert.deepEqual([typo.statusCode, typo.code], [400, 'EV_ERR_PASSCODE_TYPO']);
    }
    const malformed = await redeem(s, 'not-a-passcode');
    assert.deepEqual([malformed.statusCode, malformed.code], [400, 'EV_ERR_PASSCODE_MALFORMED']);
    const ok = await redeem(s, issued.passcode);
    assert.equal(ok.statusCode, 200);
  });

  it('keeps only a keyed hash of a passcode: HMAC-SHA256 under the cell key file, mode 0600', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst);
    await createPlatformExam(s, platform, 'chem-101');
    const issued = await issuePasscode(s, platform, 'chem-101');
    const canonical = issued.passcode.replace(/-/g, '');

    const files = await readAllFiles(s.dataDir);
    assert.ok(files.some((f) => f.path === 'cells/eu/metadata.db'));
    for (const form of [issued.passcode, canonical, canonical.slice(7, 24), canonical.toLowerCase()]) assert.deepEqual(filesContaining(files, form), [], form);

    // The stored hash is HMAC-SHA256 under the key in the cell's key file, recomputed here independently.
    const keyPath = join(cellDir(s.dataDir, 'eu'), 'passcodes', 'passcode-key.json');
    const key = Buffer.from((JSON.parse(await readFile(keyPath, 'utf8')) as { key: string }).key, 'base64url');
    const expected = createHmac('sha256', key).update('examvault passcode v1\0').update(canonical).digest('hex');
    const rows = await s.services.cells.get('eu')!.db.selectFrom('passcodes').select('code_hash').execute();
    assert.deepEqual(rows.map((r) => r.code_hash), [expected]);

    await chmod(keyPath, 0o640);
    await assert.rejects(openPasscodeKey(cellDir(s.dataDir, 'eu')), { code: 'EV_ERR_PASSCODE_KEY_PERMISSIONS' });
  });

  it('revoked: the key stops working, and so do the passcodes it issued', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const platform = await registerTestPlatform(s, inst);
    await createPlatformExam(s, platform, 'chem-101');
    const issued = await issuePasscode(s, platform, 'chem-101');
    const revoke = await s.app.inject({ method: 'DELETE', url: `/v1/platforms/${platform.platform}`, headers: platform.admin.send });
    assert.equal(revoke.statusCode, 204, revoke.body);
    const refused = await s.app.inject({ method: 'POST', url: '/v1/platform/exams', headers: platform.key, payload: { title: 'x' } });
    assert.equal(refused.json<{ error: { code: string } }>().error.code, 'EV_ERR_PLATFORM_INVALID_KEY');
    const late = await redeem(s, issued.passcode);
    assert.deepEqual([late.statusCode, late.code], [401, 'EV_ERR_PASSCODE_INVALID']);
    const events = await s.services.cells.get('eu')!.db.selectFrom('audit_log').select('type').execute();
    assert.ok(events.some((e) => e.type === 'platform.revoked'));
  });

  it("act on their own institution only: a platform of A cannot reach B's exams or platforms", async (t) => {
    const s = await startTestServer(t);
    const a = await s.institution('eu');
    const b = await s.institution('eu');
    const c = await s.institution('us');
    const platformA = await registerTestPlatform(s, a);
    const platformB = await registerTestPlatform(s, b);
    const platformC = await registerTestPlatform(s, c);
    await createPlatformExam(s, platformB, 'b-exam');
    await createPlatformExam(s, platformC, 'c-exam');

    for (const exam of ['b-exam', 'c-exam']) {
      const res = await s.app.inject({ method: 'POST', url: `/v1/platform/exams/${exam}/passcodes`, headers: platformA.key, payload: {} });
      assert.deepEqual([res.statusCode, res.json<{ error: { code: string } }>().error.code], [404, 'EV_ERR_EXAM_NOT_FOUND']);
    }
    // The same exam id created with A's key is A's, and B's stays B's.
    await createPlatformExam(s, platformA, 'b-exam');
    const asB = await s.app.inject({ method: 'GET', url: '/v1/exams/b-exam', headers: platformB.admin.get });
    assert.equal(asB.json<{ institution: string }>().institution, b.id);
    // B's admin cannot revoke A's platform, and A's key is no staff session.
    const revoke = await s.app.inject({ method: 'DELETE', url: `/v1/platforms/${platformA.platform}`, headers: platformB.admin.send });
    assert.deepEqual([revoke.statusCode, revoke.json<{ error: { code: string } }>().error.code], [404, 'EV_ERR_PLATFORM_NOT_FOUND']);
    const asStaff = await s.app.inject({ method: 'GET', url: '/v1/platforms', headers: platformA.key });
    assert.equal(asStaff.statusCode, 401);
    // A key forged for another region, or an attempt credential, is no platform key.
    for (const key of [platformA.apiKey.replace('evp1.eu.', 'evp1.us.'), (await s.attempt(a)).token]) {
      const res = await s.app.inject({ method: 'POST', url: '/v1/platform/exams', headers: bearer(key), payload: { title: 'x' } });
      assert.deepEqual([res.statusCode, res.json<{ error: { code: string } }>().error.code], [401, 'EV_ERR_PLATFORM_INVALID_KEY']);
    }
  });
});
