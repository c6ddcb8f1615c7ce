/**
 * The `examvault custody` commands write exactly the bodies the real custody API accepts: member keys
 * made with `custody keygen` register (PUT /v1/custody/me/keys), the first admin's set-up from
 * `custody recovery-key` is accepted and enrols it (PUT /v1/custody/recovery), an approval made with
 * `custody approve` from the registration the server lists is stored (POST /v1/custody/grants), a
 * second admin enrolled with `custody enrol` is enrolled (POST /v1/custody/admins), and a revocation
 * from `custody revoke` starts the new epoch with its key granted to the recovery key
 * (POST /v1/custody/revocations). The reviewer opens recordings the server holds, of both epochs,
 * with `examvault open --grant`, given only what the server served: the unlocked header, the segments
 * and its own GET /v1/custody/me/grant answer. The CLI runs as a subprocess, as a person without a
 * browser would run it; the server is the real app, by injection.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { deriveRecoveryKeys, openGrant, parseRecoveryKey, protectPrivateKey, publicKeyFile, publicKeyOf, readPublicKeyFile, toBase64Url } from '../../../src/crypto/index.js';
import { assertFailure, assertSuccess, cli } from '../../cli/support/run-cli.js';
import { type Staff, addStaff, upload } from './support.js';
import { type TestServer, startTestServer } from '../support/test-server.js';

const passphrase = 'correct horse battery staple';

/** The sealed file of SPEC §7 from what an unlock serves: the header, then each segment with its u32 length. */
function sealedFile(header: Buffer, segments: readonly Buffer[]): Buffer {
  return Buffer.concat([header, ...segments.flatMap((c) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(c.length);
    return [length, c];
  })]);
}

/** What a reviewer gets from the API to open a recording offline: the sealed file and its grants. */
async function fetchForReviewer(s: TestServer, reviewer: Staff, institution: string, recording: string, dir: string): Promise<{ sealed: string; grants: string }> {
  const unlocked = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${institution}/${recording}/unlock`, headers: reviewer.send });
  assert.equal(unlocked.statusCode, 200, unlocked.body);
  const segments: Buffer[] = [];
  for (const { index } of unlocked.json().segments as { index: number }[]) {
    const seg = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${institution}/${recording}/segments/${index}`, headers: reviewer.get });
    assert.equal(seg.statusCode, 200);
    segments.push(seg.rawPayload);
  }
  const sealed = join(dir, `${recording}.evs`);
  writeFileSync(sealed, sealedFile(Buffer.from(unlocked.json().header as string, 'base64url'), segments));
  const myGrant = await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: reviewer.get });
  assert.equal(myGrant.statusCode, 200);
  const grants = join(dir, `${recording}.grants.json`);
  writeFileSync(grants, myGrant.body);
  return { sealed, grants };
}

/** The entry the server lists for `member` (GET /v1/custody/reviewers or /admins), as a registration file. */
async function listedEntry(s: TestServer, by: Staff, list: 'reviewers' | 'admins', member: string, dir: string): Promise<string> {
  const listed = await s.app.inject({ method: 'GET', url: `/v1/custody/${list}`, headers: by.get });
  assert.equal(listed.statusCode, 200, listed.body);
  const entry = (listed.json()[list] as { member: string }[]).find((m) => m.member === member);
  assert.ok(entry, `${member} is listed`);
  const file = join(dir, `${member}.entry.json`);
  writeFileSync(file, JSON.stringify(entry));
  return file;
}

describe('custody: the CLI\'s bodies are the API\'s', () => {
  it('keygen registers, recovery-key sets up, approve and enrol are stored, revoke starts epoch 2, and open --grant opens what the server serves', async (t) => {
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    const second = await addStaff(s, inst, 'adm-2', 'admin');
    const reviewer = await addStaff(s, inst, 'rev-1', 'reviewer');
    const leaving = await addStaff(s, inst, 'rev-2', 'reviewer');
    const dir = mkdtempSync(join(tmpdir(), 'examvault-cli-bodies-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const pass = join(dir, 'pass.txt');
    writeFileSync(pass, passphrase);
    // The institution's epoch-1 key as `institutions create` writes it for the admin.
    const epochKey = join(dir, 'epoch-1.key');
    writeFileSync(epochKey, JSON.stringify(await protectPrivateKey(inst.keys.privateKey, inst.keys.publicKey, passphrase)));
    writeFileSync(`${epochKey}.pub`, JSON.stringify(await publicKeyFile(inst.keys.publicKey)));
    const passphrases = ['--passphrase-file', pass, '--epoch-passphrase-file', pass];

    const keyFile = (member: string) => join(dir, `${member}.keys.json`);
    const keygen = (member: string, role: string) => cli(['custody', 'keygen', '--institution', inst.id, '--member', member, '--role', role, '--out', keyFile(member), '--passphrase-file', pass]);
    const members = [admin, second, reviewer, leaving];
    const made = await Promise.all([...members.map((m) => keygen(m.id, m.role)), keygen('rev-x', 'reviewer')]);
    for (const run of made) assertSuccess(run);
    const readOut = new Map(members.map((m, i) => [m.id, made[i]?.stdout.toString('utf8').trim() ?? '']));
    const numberOf = (m: Staff) => readOut.get(m.id) ?? '';

    for (const member of members) {
      const r = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: member.send, payload: JSON.parse(readFileSync(keyFile(member.id), 'utf8')) });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().status, 'pending');
    }
    // The server binds a registration to the session: keys made for another member id are refused.
    const stray = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: reviewer.send, payload: JSON.parse(readFileSync(keyFile('rev-x'), 'utf8')) });
    assert.equal(stray.statusCode, 400, stray.body);
    assert.match(stray.json().error.message as string, /another member/);

    // Set-up by the first admin: the recovery key, shown once, and the body that enrols adm-1.
    const setUpBody = join(dir, 'setup.json');
    const recovery = await cli(['custody', 'recovery-key', '--key', keyFile('adm-1'), '--epoch-key', epochKey, '--epoch', '1', ...passphrases, '-o', setUpBody]);
    assertSuccess(recovery);
    const setUp = await s.app.inject({ method: 'PUT', url: '/v1/custody/recovery', headers: admin.send, payload: JSON.parse(readFileSync(setUpBody, 'utf8')) });
    assert.equal(setUp.statusCode, 201, setUp.body);
    const recoveryFingerprint = setUp.json().fingerprint as string;
    assert.match(recovery.stderr, new RegExp(`fingerprint ${recoveryFingerprint}`), 'the server names the fingerprint the CLI printed');
    const admins = await s.app.inject({ method: 'GET', url: '/v1/custody/admins', headers: admin.get });
    assert.equal((admins.json().admins as { member: string; status: string }[]).find((m) => m.member === 'adm-1')?.status, 'approved', 'set-up enrols the first admin');

    // The admin fetches the reviewer's entry; the CLI's safety number of it is the one the reviewer reads out.
    const approveEntry = async (member: Staff, epoch: string, key: string) => {
      const entry = await listedEntry(s, admin, 'reviewers', member.id, dir);
      const out = join(dir, `${member.id}.grant-${epoch}.json`);
      assertSuccess(await cli(['custody', 'approve', '--key', keyFile('adm-1'), '--epoch-key', key, '--epoch', epoch, '--registration', entry,
        '--safety-number', numberOf(member), ...passphrases, '-o', out]));
      return s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: JSON.parse(readFileSync(out, 'utf8')) });
    };
    const shown = await cli(['custody', 'safety-number', '--institution', inst.id, await listedEntry(s, admin, 'reviewers', 'rev-1', dir)]);
    assertSuccess(shown);
    assert.equal(shown.stdout.toString('utf8').trim(), numberOf(reviewer));
    for (const member of [reviewer, leaving]) {
      const stored = await approveEntry(member, '1', epochKey);
      assert.equal(stored.statusCode, 201, stored.body);
      assert.deepEqual({ member: stored.json().member, epoch: stored.json().epoch }, { member: member.id, epoch: 1 });
    }

    // adm-1 enrols adm-2 from the entry the server lists, after comparing adm-2's safety number.
    const enrolBody = join(dir, 'adm-2.enrolment.json');
    const adm2Entry = await listedEntry(s, admin, 'admins', 'adm-2', dir);
    assertSuccess(await cli(['custody', 'enrol', '--key', keyFile('adm-1'), '--epoch-key', epochKey, '--epoch', '1', '--registration', adm2Entry,
      '--safety-number', numberOf(second), ...passphrases, '-o', enrolBody]));
    const enrolled = await s.app.inject({ method: 'POST', url: '/v1/custody/admins', headers: admin.send, payload: JSON.parse(readFileSync(enrolBody, 'utf8')) });
    assert.equal(enrolled.statusCode, 201, enrolled.body);
    assert.deepEqual({ member: enrolled.json().member, epochs: enrolled.json().epochs }, { member: 'adm-2', epochs: [1] });

    // A recording made by a test taker, unlocked by the reviewer through the API, opened offline.
    const { chunks } = await upload(s, inst, 'cam-1');
    const first = await fetchForReviewer(s, reviewer, inst.id, 'cam-1', dir);
    const opened = await cli(['open', '--key', keyFile('rev-1'), '--grant', first.grants, '--epoch-public-key', `${epochKey}.pub`, '--passphrase-file', pass, first.sealed]);
    assertSuccess(opened);
    assert.ok(opened.stdout.equals(Buffer.concat(chunks)), 'the plaintext the test taker recorded');
    // Someone else's grant opens nothing with the admin's keys.
    assertFailure(await cli(['open', '--key', keyFile('adm-1'), '--grant', first.grants, '--passphrase-file', pass, first.sealed]), 'EV_ERR_CUSTODY_BINDING_MISMATCH', 1);

    // The enrolled adm-2 revokes rev-2: the recovery key comes from what the server serves, pinned by the set-up fingerprint.
    const recoveryFile = join(dir, 'recovery.json');
    const served = await s.app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: second.get });
    assert.equal(served.statusCode, 200, served.body);
    writeFileSync(recoveryFile, served.body);
    const epoch2Key = join(dir, 'epoch-2.key');
    const revocationBody = join(dir, 'rev-2.revocation.json');
    const revoke = await cli(['custody', 'revoke', '--key', keyFile('adm-2'), '--reviewer', 'rev-2', '--epoch', '2', '--recovery', recoveryFile,
      '--recovery-fingerprint', recoveryFingerprint, '--new-epoch-key', epoch2Key, '--passphrase-file', pass, '--new-epoch-passphrase-file', pass, '-o', revocationBody]);
    assertSuccess(revoke);
    const revoked = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: second.send, payload: JSON.parse(readFileSync(revocationBody, 'utf8')) });
    assert.equal(revoked.statusCode, 201, revoked.body);
    assert.deepEqual({ member: revoked.json().member, epoch: revoked.json().epoch }, { member: 'rev-2', epoch: 2 });
    const epoch2Public = await readPublicKeyFile(JSON.parse(readFileSync(`${epoch2Key}.pub`, 'utf8')));
    const current = await s.app.inject({ method: 'GET', url: '/v1/custody/epoch', headers: admin.get });
    assert.deepEqual({ epoch: current.json().epoch, publicKey: current.json().publicKey }, { epoch: 2, publicKey: toBase64Url(epoch2Public.raw) });

    // The recovery key printed at set-up opens the epoch-2 grant the revocation gave it: the new epoch is not lost to it.
    const recoveryKeys = await deriveRecoveryKeys(await parseRecoveryKey(recovery.stdout.toString('utf8').trim()));
    const recoveryGrants = (await s.app.inject({ method: 'GET', url: '/v1/custody/recovery', headers: admin.get })).json().grants as { epoch: number; grant: unknown }[];
    const epoch2Grant = recoveryGrants.find((g) => g.epoch === 2)?.grant;
    const recovered = await openGrant(epoch2Grant, { institution: inst.id, epoch: 2, epochPublicKey: epoch2Public.raw }, { kind: 'recovery', keys: recoveryKeys }, recoveryKeys.hpke.privateKey);
    assert.deepEqual(await publicKeyOf(recovered), epoch2Public.raw);

    // rev-1 is approved again for epoch 2 with the new key file, and opens a recording of epoch 2; rev-2 cannot get it.
    assert.equal((await approveEntry(reviewer, '2', epoch2Key)).statusCode, 201);
    const { chunks: later } = await upload(s, inst, 'cam-2', 2, epoch2Public.key);
    const second2 = await fetchForReviewer(s, reviewer, inst.id, 'cam-2', dir);
    const opened2 = await cli(['open', '--key', keyFile('rev-1'), '--grant', second2.grants, '--epoch-public-key', `${epoch2Key}.pub`, '--passphrase-file', pass, second2.sealed]);
    assertSuccess(opened2);
    assert.ok(opened2.stdout.equals(Buffer.concat(later)), 'the epoch-2 plaintext');
    const gone = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/cam-2/unlock`, headers: leaving.send });
    assert.equal(gone.statusCode, 403, gone.body);
  });
});
