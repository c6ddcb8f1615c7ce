/**
 * The `examvault custody` commands write exactly the bodies the real custody API accepts: member keys
 * made with `custody keygen` register (PUT /v1/custody/me/keys), an approval made with `custody
 * approve` from the registration the server lists is stored (POST /v1/custody/grants), the recovery
 * set-up from `custody recovery-key` is accepted (PUT /v1/custody/recovery), and the reviewer opens a
 * recording the server holds with `examvault open --grant`, given only what the server served: the
 * unlocked header, the segments and its own GET /v1/custody/me/grant answer. The CLI runs as a
 * subprocess, as a person without a browser would run it; the server is the real app, by injection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { protectPrivateKey, publicKeyFile } from '../../../src/crypto/index.js';
import { assertFailure, assertSuccess, cli } from '../../cli/support/run-cli.js';
import { addStaff, upload } from './support.js';
import { startTestServer } from '../support/test-server.js';

const passphrase = 'correct horse battery staple';

/** The sealed file of SPEC §7 from what an unlock serves: the header, then each segment with its u32 length. */
function sealedFile(header: Buffer, segments: readonly Buffer[]): Buffer {
  return Buffer.concat([header, ...segments.flatMap((c) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(c.length);
    return [length, c];
  })]);
}

describe('custody: the CLI\'s bodies are the API\'s', () => {
  it('keygen registers, approve is stored, recovery-key is accepted, and open --grant opens what the server serves', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    const reviewer = await addStaff(s, inst, 'rev-1', 'reviewer');
    const dir = mkdtempSync(join(tmpdir(), 'examvault-cli-bodies-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pass = join(dir, 'pass.txt');
    writeFileSync(pass, passphrase);
    // The institution's epoch-1 key as `institutions create` writes it for the admin.
    const epochKey = join(dir, 'epoch-1.key');
    writeFileSync(epochKey, JSON.stringify(await protectPrivateKey(inst.keys.privateKey, inst.keys.publicKey, passphrase)));
    writeFileSync(`${epochKey}.pub`, JSON.stringify(await publicKeyFile(inst.keys.publicKey)));

    const adminKeys = join(dir, 'adm-1.keys.json');
    const reviewerKeys = join(dir, 'rev-1.keys.json');
    const strayKeys = join(dir, 'rev-x.keys.json');
    const keygen = (member: string, role: string, out: string) => cli(['custody', 'keygen', '--institution', inst.id, '--member', member, '--role', role, '--out', out, '--passphrase-file', pass]);
    const made = await Promise.all([keygen('adm-1', 'admin', adminKeys), keygen('rev-1', 'reviewer', reviewerKeys), keygen('rev-x', 'reviewer', strayKeys)]);
    for (const run of made) assertSuccess(run);
    const readOut = made[1]?.stdout.toString('utf8').trim() ?? '';

    for (const [member, file] of [[admin, adminKeys], [reviewer, reviewerKeys]] as const) {
      const r = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: member.send, payload: JSON.parse(readFileSync(file, 'utf8')) });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().status, 'pending');
    }
    // The server binds a registration to the session: keys made for another member id are refused.
    const stray = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: reviewer.send, payload: JSON.parse(readFileSync(strayKeys, 'utf8')) });
    assert.equal(stray.statusCode, 400, stray.body);
    assert.match(stray.json().error.message as string, /another member/);

    // The admin fetches the reviewer's entry; the CLI's safety number of it is the one the reviewer reads out.
    const listed = await s.app.inject({ method: 'GET', url: '/v1/custody/reviewers', headers: admin.get });
    const entry = (listed.json().reviewers as { member: string }[]).find((m) => m.member === 'rev-1');
    const entryFile = join(dir, 'rev-1.entry.json');
    writeFileSync(entryFile, JSON.stringify(entry));
    const shown = await cli(['custody', 'safety-number', '--institution', inst.id, entryFile]);
    assertSuccess(shown);
    assert.equal(shown.stdout.toString('utf8').trim(), readOut);

    const grantBody = join(dir, 'rev-1.grant.json');
    assertSuccess(await cli([
      'custody', 'approve', '--key', adminKeys, '--epoch-key', epochKey, '--epoch', '1', '--registration', entryFile,
      '--safety-number', readOut, '--passphrase-file', pass, '--epoch-passphrase-file', pass, '-o', grantBody,
    ]));
    const stored = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: JSON.parse(readFileSync(grantBody, 'utf8')) });
    assert.equal(stored.statusCode, 201, stored.body);
    assert.deepEqual({ member: stored.json().member, epoch: stored.json().epoch }, { member: 'rev-1', epoch: 1 });

    const recoveryBody = join(dir, 'recovery.json');
    const recovery = await cli(['custody', 'recovery-key', '--institution', inst.id, '--epoch-key', epochKey, '--epoch', '1', '--epoch-passphrase-file', pass, '-o', recoveryBody]);
    assertSuccess(recovery);
    const setUp = await s.app.inject({ method: 'PUT', url: '/v1/custody/recovery', headers: admin.send, payload: JSON.parse(readFileSync(recoveryBody, 'utf8')) });
    assert.equal(setUp.statusCode, 201, setUp.body);
    assert.match(recovery.stderr, new RegExp(`fingerprint ${setUp.json().fingerprint as string}`), 'the server names the fingerprint the CLI printed');

    // A recording made by a test taker, unlocked by the reviewer through the API, opened offline.
    const { chunks } = await upload(s, inst, 'cam-1');
    const unlocked = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-1/unlock`, headers: reviewer.send });
    assert.equal(unlocked.statusCode, 200, unlocked.body);
    const segments: Buffer[] = [];
    for (const { index } of unlocked.json().segments as { index: number }[]) {
      const seg = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/cam-1/segments/${index}`, headers: reviewer.get });
      assert.equal(seg.statusCode, 200);
      segments.push(seg.rawPayload);
    }
    const sealed = join(dir, 'cam-1.evs');
    writeFileSync(sealed, sealedFile(Buffer.from(unlocked.json().header as string, 'base64url'), segments));
    const myGrant = await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: reviewer.get });
    assert.equal(myGrant.statusCode, 200);
    const grants = join(dir, 'my-grants.json');
    writeFileSync(grants, myGrant.body);

    const opened = await cli(['open', '--key', reviewerKeys, '--grant', grants, '--epoch-public-key', `${epochKey}.pub`, '--passphrase-file', pass, sealed]);
    assertSuccess(opened);
    assert.ok(opened.stdout.equals(Buffer.concat(chunks)), 'the plaintext the test taker recorded');
    // The admin holds no grant of its own yet: its keys open nothing.
    const notAdmins = await cli(['open', '--key', adminKeys, '--grant', grants, '--passphrase-file', pass, sealed]);
    assertFailure(notAdmins, 'EV_ERR_CUSTODY_BINDING_MISMATCH', 1);
  });
});
