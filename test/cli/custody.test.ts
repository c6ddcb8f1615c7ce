/**
 * Golden runs of the `custody` commands and `open --grant`: a reviewer and an admin make their keys
 * with the CLI, the admin approves the reviewer after typing the safety number, and the reviewer opens
 * a recording sealed to the epoch key with nothing but their own key file and the grant. Then every
 * way this must refuse: a wrong safety number, a wrong passphrase, tampered files, weakened PBKDF2
 * parameters, someone else's grant; each exits non-zero with one error and one hint and leaves no
 * output file.
 *
 * The key files are made once for the whole file: each unlock costs a 600,000-iteration PBKDF2.
 * The case bundles opened at the end are made as a reviewer's browser makes them: with the crypto
 * core, from data keys unwrapped with the epoch key.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EpochGrant,
  type KeyRegistrationStatement,
  type MemberPublicKeys,
  createCaseBundle,
  locateRecords,
  unlockPrivateKey,
  unwrapPrivateKey,
  unwrapRecordingKey,
  deriveRecoveryKeys,
  fromBase64Url,
  memberFingerprint,
  openGrant,
  parseRecoveryKey,
  publicKeyOf,
  safetyNumber,
  verifyStatement,
} from '../../src/crypto/index.js';
import { type Run, assertFailure, assertSuccess, cli, printed } from './support/run-cli.js';

const passphrase = 'correct horse battery staple';
const institution = 'inst-7f3a';

let dir: string;
let passFile: string;
let epochKey: string;
let adminKeys: string;
let reviewerKeys: string;
let otherKeys: string;
let secondAdminKeys: string;
let reviewerNumber: string;
let secondAdminNumber: string;
let grantFile: string;
let sealed: string;
let plaintext: Buffer;

function randomData(n: number): Buffer {
  const out = Buffer.alloc(n);
  crypto.getRandomValues(out);
  return out;
}

function json<T = Record<string, unknown>>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function keygen(member: string, role: 'admin' | 'reviewer', out: string, ...more: string[]): Promise<Run> {
  return cli(['custody', 'keygen', '--institution', institution, '--member', member, '--role', role, '--out', out, '--passphrase-file', passFile, ...more]);
}

function approveArgs(safety: string, out: string, registration = reviewerKeys, key = adminKeys): string[] {
  return [
    'custody', 'approve', '--key', key, '--epoch-key', epochKey, '--epoch', '1', '--registration', registration,
    '--safety-number', safety, '--passphrase-file', passFile, '--epoch-passphrase-file', passFile, '-o', out,
  ];
}

/** `args` without `flag` and its value: a run with no passphrase source fails at any prompt (EV_ERR_CLI_NO_PASSPHRASE). */
function without(args: readonly string[], flag: string): string[] {
  return args.filter((a, i, all) => a !== flag && all[i - 1] !== flag);
}

/** `args` with the value of `flag` replaced. */
function withFlag(args: readonly string[], flag: string, value: string): string[] {
  const out = [...args];
  out[out.indexOf(flag) + 1] = value;
  return out;
}

/** A passphrase file with another passphrase than every key's. */
function wrongPassphraseFile(): string {
  const wrong = join(dir, 'not-the-passphrase.txt');
  writeFileSync(wrong, 'not the passphrase at all\n');
  return wrong;
}

/** A member key file's self-signed registration, verified. */
async function registrationOf(path: string): Promise<KeyRegistrationStatement> {
  const result = await verifyStatement(fromBase64Url(json<{ registration: string }>(path).registration) as Uint8Array, () => null, 'key-registration');
  assert.ok(result.ok);
  return result.statement;
}

/** One of a member's private keys, unwrapped as their own client would. */
async function memberPrivateKey(path: string, purpose: 'admin-hpke' | 'reviewer-hpke', member: string): Promise<CryptoKey> {
  const doc = json<{ wrappedKeys: Record<string, unknown> }>(path);
  return (await unwrapPrivateKey(doc.wrappedKeys[purpose], { purpose, institution, owner: member }, { passphrase })).privateKey;
}

function setUpArgs(out: string, key = adminKeys): string[] {
  return ['custody', 'recovery-key', '--key', key, '--epoch-key', epochKey, '--epoch', '1', '--passphrase-file', passFile, '--epoch-passphrase-file', passFile, '-o', out];
}

function enrolArgs(safety: string, out: string, registration = secondAdminKeys, key = adminKeys): string[] {
  return [
    'custody', 'enrol', '--key', key, '--epoch-key', epochKey, '--epoch', '1', '--registration', registration,
    '--safety-number', safety, '--passphrase-file', passFile, '--epoch-passphrase-file', passFile, '-o', out,
  ];
}

function openArgs(...more: string[]): string[] {
  return ['open', '--key', reviewerKeys, '--grant', grantFile, '--passphrase-file', passFile, ...more];
}

/** A fresh directory: what a refused command must leave as it found it. */
function emptyDir(name: string): string {
  return mkdtempSync(join(dir, `${name}-`));
}

/** A copy of `path` changed by `edit`, in a new directory. */
/** The members of the CLI's files that the tests tamper with. */
interface Editable {
  registration: string;
  wrappedKeys: Record<string, { wrappings: { kdf: { iterations: number }; ciphertext: string }[] }>;
  grant: { ciphertext: string; epoch: number; recipient: { kind: string; member: string; fingerprint: string } };
}

/** The (only) passphrase wrapping of one wrapped key in a member key file. */
function wrapping(doc: Editable, purpose: string): Editable['wrappedKeys'][string]['wrappings'][number] {
  return doc.wrappedKeys[purpose]?.wrappings[0] ?? assert.fail(`no ${purpose} wrapping`);
}

function edited(path: string, name: string, edit: (doc: Editable) => void): string {
  const doc = json<Editable>(path);
  edit(doc);
  const out = join(emptyDir(name), 'edited.json');
  writeFileSync(out, JSON.stringify(doc));
  return out;
}

/** Flips one bit of a base64url string's bytes at `index` (from the end when negative). */
function flip(text: string, index: number): string {
  const bytes = Buffer.from(text, 'base64url');
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  return bytes.toString('base64url');
}

/** Seals `data` with the CLI as a recording of attempt att-1, sealed to the epoch-1 key; returns its path. */
async function sealToEpoch(track: 'camera' | 'screen', data: Uint8Array): Promise<string> {
  const input = join(dir, `${track}.bin`);
  writeFileSync(input, data);
  const out = join(dir, `${track}.evs`);
  assertSuccess(await cli([
    'seal', '--recipient', `${epochKey}.pub`, '--institution', institution, '--region', 'eu', '--exam', 'chem-101',
    '--attempt', 'att-1', '--track', track, '--epoch', '1', '--segment-size', '1KiB', '-o', out, input,
  ]));
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'examvault-custody-cli-'));
  passFile = join(dir, 'pass.txt');
  writeFileSync(passFile, `${passphrase}\n`);
  epochKey = join(dir, 'epoch-1.key');
  adminKeys = join(dir, 'adm-1.keys.json');
  reviewerKeys = join(dir, 'rev-1.keys.json');
  otherKeys = join(dir, 'rev-2.keys.json');
  secondAdminKeys = join(dir, 'adm-2.keys.json');
  const runs = await Promise.all([
    cli(['keygen', '--out', epochKey, '--passphrase-file', passFile]),
    keygen('adm-1', 'admin', adminKeys),
    keygen('rev-1', 'reviewer', reviewerKeys),
    keygen('rev-2', 'reviewer', otherKeys),
    keygen('adm-2', 'admin', secondAdminKeys),
  ]);
  for (const run of runs) assertSuccess(run);
  reviewerNumber = (runs[2] as Run).stdout.toString('utf8').trim();
  secondAdminNumber = (runs[4] as Run).stdout.toString('utf8').trim();

  grantFile = join(dir, 'rev-1.grant.json');
  assertSuccess(await cli(approveArgs(reviewerNumber, grantFile)));

  plaintext = randomData(5000);
  sealed = await sealToEpoch('camera', plaintext);
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('examvault custody keygen', () => {
  it('writes exactly the PUT /v1/custody/me/keys body, mode 0600, and prints the safety number of its registration', async () => {
    assert.equal(statSync(reviewerKeys).mode & 0o777, 0o600);
    const body = json<{ registration: string; wrappedKeys: Record<string, { purpose: string; owner: string; publicKey: string; wrappings: { method: string; kdf: { iterations: number } }[] }> }>(reviewerKeys);
    assert.deepEqual(Object.keys(body).sort(), ['registration', 'wrappedKeys']);
    assert.deepEqual(Object.keys(body.wrappedKeys).sort(), ['reviewer-hpke', 'reviewer-signing']);
    const result = await verifyStatement(fromBase64Url(body.registration) as Uint8Array, () => null, 'key-registration');
    assert.ok(result.ok, 'the registration is self-signed');
    const statement = result.statement;
    assert.equal(statement.institution, institution);
    assert.equal(statement.reviewer, 'rev-1');
    for (const [purpose, doc] of Object.entries(body.wrappedKeys)) {
      assert.equal(doc.owner, 'rev-1');
      assert.deepEqual(doc.wrappings.map((w) => [w.method, w.kdf.iterations]), [['passphrase', 600_000]], purpose);
    }
    assert.deepEqual(fromBase64Url(body.wrappedKeys['reviewer-hpke']?.publicKey ?? ''), statement.hpkePublicKey);
    assert.deepEqual(fromBase64Url(body.wrappedKeys['reviewer-signing']?.publicKey ?? ''), statement.signingPublicKey);
    assert.match(reviewerNumber, /^\d{5}( \d{5}){7}$/);
    assert.equal(reviewerNumber, await safetyNumber({ institution, member: 'rev-1', keys: statement }));
    // No byte of either private scalar is in the file: only ciphertext, the registration and public keys.
    const text = readFileSync(reviewerKeys, 'utf8');
    assert.doesNotMatch(text, /"d"\s*:/);
  });

  it('an admin file holds admin keys', () => {
    assert.deepEqual(Object.keys(json<{ wrappedKeys: object }>(adminKeys).wrappedKeys).sort(), ['admin-hpke', 'admin-signing']);
  });

  it('refuses a short passphrase, an existing file, and no passphrase source, writing nothing', async () => {
    const d = emptyDir('keygen-refused');
    const short = join(d, 'short.txt');
    writeFileSync(short, 'tooshort\n');
    const out = join(d, 'k.json');
    const weak = await cli(['custody', 'keygen', '--institution', institution, '--member', 'rev-9', '--role', 'reviewer', '--out', out, '--passphrase-file', short]);
    assertFailure(weak, 'EV_ERR_CLI_WEAK_PASSPHRASE', 1);
    assertFailure(await cli(['custody', 'keygen', '--institution', institution, '--member', 'rev-9', '--role', 'reviewer', '--out', out]), 'EV_ERR_CLI_NO_PASSPHRASE', 1);
    assert.deepEqual(readdirSync(d), ['short.txt'], 'no key file and no temporary file');
    const before = readFileSync(reviewerKeys);
    assertFailure(await keygen('rev-1', 'reviewer', reviewerKeys), 'EV_ERR_CLI_FILE_EXISTS', 1);
    assert.deepEqual(readFileSync(reviewerKeys), before);
  });

  it('refuses a bad role or member id as a usage error', async () => {
    const out = join(dir, 'usage.json');
    assertFailure(await keygen('rev-1', 'auditor' as 'admin', out), 'EV_ERR_CLI_USAGE', 2);
    assertFailure(await keygen('-rev', 'reviewer', out), 'EV_ERR_CLI_USAGE', 2);
    assert.equal(existsSync(out), false);
  });
});

describe('examvault custody safety-number', () => {
  it('prints the number the member was shown, for their key file and for their GET /v1/custody/reviewers entry', async () => {
    const body = json<{ registration: string }>(reviewerKeys);
    const entry = join(dir, 'reviewer-entry.json');
    // What the server lists: its own claims beside the registration are ignored.
    writeFileSync(entry, JSON.stringify({ member: 'rev-1', role: 'reviewer', status: 'pending', hpkePublicKey: 'x', signingPublicKey: 'y', fingerprint: 'z', registration: body.registration, approvals: [] }));
    const [own, served] = await Promise.all([cli(['custody', 'safety-number', reviewerKeys]), cli(['custody', 'safety-number', '--institution', institution, entry])]);
    assertSuccess(own);
    assertSuccess(served);
    assert.equal(own.stdout.toString('utf8').trim(), reviewerNumber);
    assert.equal(served.stdout.toString('utf8').trim(), reviewerNumber);
  });

  it('refuses a registration whose signature does not verify, or of another institution', async () => {
    const forged = edited(reviewerKeys, 'forged-registration', (doc) => {
      doc.registration = flip(doc.registration, -1);
    });
    assertFailure(await cli(['custody', 'safety-number', forged]), 'EV_ERR_CUSTODY_SIGNATURE_INVALID', 1);
    assertFailure(await cli(['custody', 'safety-number', '--institution', 'inst-other', reviewerKeys]), 'EV_ERR_CUSTODY_BINDING_MISMATCH', 1);
  });
});

describe('examvault custody approve', () => {
  it('writes exactly the POST /v1/custody/grants body: a grant bound to the reviewer and an approval signed by the admin', async () => {
    const body = json<{ grant: EpochGrant; approval: string }>(grantFile);
    assert.deepEqual(Object.keys(body).sort(), ['approval', 'grant']);
    const reviewer = await verifyStatement(fromBase64Url(json<{ registration: string }>(reviewerKeys).registration) as Uint8Array, () => null, 'key-registration');
    const admin = await verifyStatement(fromBase64Url(json<{ registration: string }>(adminKeys).registration) as Uint8Array, () => null, 'key-registration');
    assert.ok(reviewer.ok && admin.ok);
    const approval = await verifyStatement(fromBase64Url(body.approval) as Uint8Array, (signer) => (signer.kind === 'admin' && signer.admin === 'adm-1' ? admin.statement.signingPublicKey : null), 'approval');
    assert.ok(approval.ok, 'the approval verifies under the admin\'s registered signing key');
    assert.equal(approval.statement.reviewer, 'rev-1');
    assert.equal(approval.statement.epoch, 1);
    assert.deepEqual(approval.statement.fingerprint, await memberFingerprint(reviewer.statement));
    const epochPub = json<{ publicKey: string }>(`${epochKey}.pub`).publicKey;
    assert.equal(body.grant.epochPublicKey, epochPub);
    assert.deepEqual(body.grant.recipient, { kind: 'member', member: 'rev-1', fingerprint: Buffer.from(await memberFingerprint(reviewer.statement)).toString('base64url') });
  });

  it('accepts the safety number typed without spaces or with dashes', async () => {
    const d = emptyDir('approve-dashes');
    const out = join(d, 'grant.json');
    assertSuccess(await cli(approveArgs(reviewerNumber.replace(/ /g, '-'), out)));
    assert.ok(existsSync(out));
  });

  it('refuses a safety number that is not the registration\'s, before any passphrase, and writes nothing', async () => {
    const d = emptyDir('approve-mismatch');
    const out = join(d, 'grant.json');
    // rev-2's number for rev-1's registration: what an admin sees when a server swapped the keys.
    const other = (await cli(['custody', 'safety-number', otherKeys])).stdout.toString('utf8').trim();
    const oneDigit = reviewerNumber.replace(/\d$/, (c) => String((Number(c) + 1) % 10));
    for (const typed of [other, oneDigit]) {
      const args = approveArgs(typed, out).filter((a, i, all) => a !== '--passphrase-file' && all[i - 1] !== '--passphrase-file');
      const run = await cli(args);
      assertFailure(run, 'EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH', 1);
      assert.match(run.stderr, /^hint: do not approve/m);
    }
    assert.deepEqual(readdirSync(d), [], 'no grant file and no temporary file');
  });

  it('refuses a safety number of the wrong length as a usage error', async () => {
    const out = join(dir, 'short-number.json');
    assertFailure(await cli(approveArgs('12345 67890', out)), 'EV_ERR_CLI_USAGE', 2);
    assert.equal(existsSync(out), false);
  });

  it('refuses a wrong passphrase, a tampered registration, and a reviewer\'s key as --key, writing nothing', async () => {
    const d = emptyDir('approve-refused');
    const out = join(d, 'grant.json');
    const wrong = join(dir, 'wrong-pass.txt');
    writeFileSync(wrong, 'not the passphrase at all\n');
    const wrongPass = approveArgs(reviewerNumber, out);
    wrongPass[wrongPass.indexOf('--passphrase-file') + 1] = wrong;
    const forged = edited(reviewerKeys, 'approve-forged', (doc) => {
      doc.registration = flip(doc.registration, 40);
    });
    const runs = await Promise.all([
      cli(wrongPass),
      cli(approveArgs(reviewerNumber, out, forged)),
      cli(approveArgs(reviewerNumber, out, reviewerKeys, otherKeys)),
    ]);
    assertFailure(runs[0] as Run, 'EV_ERR_CRYPTO_DECRYPTION_FAILED', 1);
    assert.match((runs[0] as Run).stderr, /^hint: wrong passphrase/m);
    assertFailure(runs[1] as Run, 'EV_ERR_CUSTODY_SIGNATURE_INVALID', 1);
    assertFailure(runs[2] as Run, 'EV_ERR_CLI_WRONG_ROLE', 1);
    assert.deepEqual(readdirSync(d), []);
  });

  it('refuses a wrapped key whose PBKDF2 iterations were lowered, without asking for a passphrase', async () => {
    const d = emptyDir('approve-weak');
    const out = join(d, 'grant.json');
    for (const iterations of [1000, 599_999, 20_000_000]) {
      const weak = edited(adminKeys, 'weak-admin', (doc) => {
        wrapping(doc, 'admin-signing').kdf.iterations = iterations;
      });
      // No --passphrase-file and no terminal: a prompt would fail with EV_ERR_CLI_NO_PASSPHRASE instead.
      const args = approveArgs(reviewerNumber, out, reviewerKeys, weak).filter((a, i, all) => a !== '--passphrase-file' && all[i - 1] !== '--passphrase-file');
      const run = await cli(args);
      assertFailure(run, 'EV_ERR_CUSTODY_WEAK_KDF', 1);
      assert.match(run.stderr, /^hint: .*600000/m);
    }
    assert.deepEqual(readdirSync(d), []);
  });
});

describe('examvault open --grant', () => {
  it('opens a recording sealed to the epoch key with the reviewer\'s own key and grant, to a file, to stdout and by segment', async () => {
    const out = join(dir, 'opened.bin');
    const [toFile, toStdout, segment] = await Promise.all([cli(openArgs('-o', out, sealed)), cli(openArgs(sealed)), cli(openArgs('--segment', '2', sealed))]);
    assertSuccess(toFile);
    assert.deepEqual(readFileSync(out), plaintext);
    assertSuccess(toStdout);
    assert.ok(toStdout.stdout.equals(plaintext));
    assertSuccess(segment);
    assert.ok(segment.stdout.equals(plaintext.subarray(2048, 3072)));
  });

  it('picks the grant for the recording\'s epoch out of a GET /v1/custody/me/grant answer, and takes a pinned epoch key', async () => {
    const { grant, approval } = json<{ grant: EpochGrant; approval: string }>(grantFile);
    const answer = join(dir, 'me-grant.json');
    writeFileSync(answer, JSON.stringify({ status: 'approved', grants: [{ epoch: 1, grant, approval }] }));
    const run = await cli(['open', '--key', reviewerKeys, '--grant', answer, '--epoch-public-key', `${epochKey}.pub`, '--passphrase-file', passFile, sealed]);
    assertSuccess(run);
    assert.ok(run.stdout.equals(plaintext));
  });

  /** `open -o` and to stdout must both fail with `code` and leave nothing. */
  async function assertRefused(args: (out: string) => string[], code: string): Promise<Run> {
    const d = emptyDir('open-refused');
    const out = join(d, 'plain.out');
    const [toFile, toStdout] = await Promise.all([cli(args(out)), cli(args('').slice(0, -1).filter((a) => a !== '-o'))]);
    assertFailure(toFile, code, 1);
    assert.deepEqual(readdirSync(d), [], 'no output and no temporary file');
    assertFailure(toStdout, code, 1);
    assert.equal(toStdout.stdout.length, 0, 'nothing on stdout');
    return toFile;
  }

  it('a wrong passphrase', async () => {
    const wrong = join(dir, 'wrong-open.txt');
    writeFileSync(wrong, 'not the passphrase at all\n');
    const run = await assertRefused((out) => ['open', '--key', reviewerKeys, '--grant', grantFile, '--passphrase-file', wrong, sealed, '-o', out], 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    assert.match(run.stderr, /^hint: wrong passphrase/m);
  });

  it('a tampered grant ciphertext, and a tampered wrapped key', async () => {
    const grant = edited(grantFile, 'tampered-grant', (doc) => {
      doc.grant.ciphertext = flip(doc.grant.ciphertext, 5);
    });
    await assertRefused((out) => ['open', '--key', reviewerKeys, '--grant', grant, '--passphrase-file', passFile, sealed, '-o', out], 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    const key = edited(reviewerKeys, 'tampered-key', (doc) => {
      const w = wrapping(doc, 'reviewer-hpke');
      w.ciphertext = flip(w.ciphertext, 0);
    });
    await assertRefused((out) => ['open', '--key', key, '--grant', grantFile, '--passphrase-file', passFile, sealed, '-o', out], 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('rev-1\'s grant with rev-2\'s keys, and a grant relabelled for rev-2', async () => {
    await assertRefused((out) => ['open', '--key', otherKeys, '--grant', grantFile, '--passphrase-file', passFile, sealed, '-o', out], 'EV_ERR_CUSTODY_BINDING_MISMATCH');
    const other = await verifyStatement(fromBase64Url(json<{ registration: string }>(otherKeys).registration) as Uint8Array, () => null, 'key-registration');
    assert.ok(other.ok);
    const fingerprint = Buffer.from(await memberFingerprint(other.statement)).toString('base64url');
    const relabelled = edited(grantFile, 'relabelled', (doc) => {
      doc.grant.recipient = { kind: 'member', member: 'rev-2', fingerprint };
    });
    await assertRefused((out) => ['open', '--key', otherKeys, '--grant', relabelled, '--passphrase-file', passFile, sealed, '-o', out], 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('a grant naming another epoch key than the pinned one', async () => {
    const otherEpoch = join(dir, 'epoch-x.key');
    assertSuccess(await cli(['keygen', '--out', otherEpoch, '--passphrase-file', passFile]));
    await assertRefused((out) => ['open', '--key', reviewerKeys, '--grant', grantFile, '--epoch-public-key', `${otherEpoch}.pub`, '--passphrase-file', passFile, sealed, '-o', out], 'EV_ERR_CUSTODY_BINDING_MISMATCH');
  });

  it('no grant for the recording\'s epoch', async () => {
    const epoch2 = edited(grantFile, 'epoch-2', (doc) => {
      doc.grant.epoch = 2;
    });
    const run = await assertRefused((out) => ['open', '--key', reviewerKeys, '--grant', epoch2, '--passphrase-file', passFile, sealed, '-o', out], 'EV_ERR_CLI_NO_GRANT');
    assert.match(run.stderr, /epoch 1/);
  });

  it('a wrapped key with weakened PBKDF2 parameters, refused without asking for a passphrase', async () => {
    const weak = edited(reviewerKeys, 'weak-reviewer', (doc) => {
      wrapping(doc, 'reviewer-hpke').kdf.iterations = 100_000;
    });
    const run = await assertRefused((out) => ['open', '--key', weak, '--grant', grantFile, sealed, '-o', out], 'EV_ERR_CUSTODY_WEAK_KDF');
    assert.match(run.stderr, /^hint: .*600000/m);
  });

  it('a member key file without --grant, and an epoch key file with --grant', async () => {
    assertFailure(await cli(['open', '--key', reviewerKeys, '--passphrase-file', passFile, sealed]), 'EV_ERR_KEYFILE_MALFORMED', 1);
    assertFailure(await cli(['open', '--key', epochKey, '--grant', grantFile, '--passphrase-file', passFile, sealed]), 'EV_ERR_CUSTODY_MALFORMED', 1);
  });
});

describe('examvault custody recovery-key', () => {
  it('prints the recovery key once and writes the PUT /v1/custody/recovery body: root, enrolment, epoch statement and both grants', async () => {
    const out = join(emptyDir('setup'), 'setup.json');
    const run = await cli(setUpArgs(out));
    assertSuccess(run);
    const printed = run.stdout.toString('utf8').trim();
    assert.match(printed, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){13}$/);
    assert.match(run.stderr, /shown only this once/);
    assert.doesNotMatch(readFileSync(out, 'utf8'), new RegExp(printed.slice(0, 9)), 'the key is not in the file');
    const body = json<{ institution: string; enrolment: string; epoch: string; recoveryGrant: EpochGrant; grant: EpochGrant }>(out);
    assert.deepEqual(Object.keys(body).sort(), ['enrolment', 'epoch', 'grant', 'institution', 'recoveryGrant']);
    const recovery = await deriveRecoveryKeys(await parseRecoveryKey(printed));
    const byRecovery = () => recovery.signingPublicKey;
    const root = await verifyStatement(fromBase64Url(body.institution) as Uint8Array, byRecovery, 'institution');
    assert.ok(root.ok, 'the institution statement is signed by the printed key');
    assert.equal(root.statement.institution, institution);
    assert.match(run.stderr, new RegExp(`fingerprint ${Buffer.from(await memberFingerprint(recovery)).toString('base64url')}`));

    const admin = await registrationOf(adminKeys);
    const enrolment = await verifyStatement(fromBase64Url(body.enrolment) as Uint8Array, (signer) => (signer.kind === 'recovery' ? recovery.signingPublicKey : null), 'admin-enrolment');
    assert.ok(enrolment.ok, 'the first admin is enrolled by the recovery key');
    assert.equal(enrolment.statement.admin, 'adm-1');
    assert.deepEqual(enrolment.statement.enrolledBy, { kind: 'recovery' });
    assert.deepEqual(await memberFingerprint(enrolment.statement), await memberFingerprint(admin), 'the enrolment names the keys of the admin\'s registration');

    const epochPublic = fromBase64Url(json<{ publicKey: string }>(`${epochKey}.pub`).publicKey) as Uint8Array;
    const epoch = await verifyStatement(fromBase64Url(body.epoch) as Uint8Array, (signer) => (signer.kind === 'admin' && signer.admin === 'adm-1' ? admin.signingPublicKey : null), 'epoch');
    assert.ok(epoch.ok, 'the epoch statement is signed by the admin');
    assert.equal(epoch.statement.epoch, 1);
    assert.deepEqual(epoch.statement.epochPublicKey, epochPublic);

    const scope = { institution, epoch: 1, epochPublicKey: epochPublic };
    const recovered = await openGrant(body.recoveryGrant, scope, { kind: 'recovery', keys: recovery }, recovery.hpke.privateKey);
    assert.deepEqual(await publicKeyOf(recovered), epochPublic);
    const granted = await openGrant(body.grant, scope, { kind: 'member', member: 'adm-1', keys: admin }, await memberPrivateKey(adminKeys, 'admin-hpke', 'adm-1'));
    assert.deepEqual(await publicKeyOf(granted), epochPublic);
  });

  it('a wrong passphrase (the admin\'s or the epoch key\'s), a reviewer\'s key and a tampered key file leave no file and print no key', async () => {
    const d = emptyDir('recovery-refused');
    const out = join(d, 'setup.json');
    const wrong = wrongPassphraseFile();
    const forged = edited(adminKeys, 'recovery-forged', (doc) => {
      doc.registration = flip(doc.registration, -5);
    });
    const runs = await Promise.all([cli(withFlag(setUpArgs(out), '--passphrase-file', wrong)), cli(withFlag(setUpArgs(out), '--epoch-passphrase-file', wrong)), cli(without(setUpArgs(out, reviewerKeys), '--passphrase-file')), cli(without(setUpArgs(out, forged), '--passphrase-file'))]);
    assertFailure(runs[0] as Run, 'EV_ERR_CRYPTO_DECRYPTION_FAILED', 1);
    assert.match((runs[0] as Run).stderr, /member key file/);
    assertFailure(runs[1] as Run, 'EV_ERR_CRYPTO_DECRYPTION_FAILED', 1);
    assert.match((runs[1] as Run).stderr, /key file '.*epoch-1\.key'/);
    assertFailure(runs[2] as Run, 'EV_ERR_CLI_WRONG_ROLE', 1);
    assertFailure(runs[3] as Run, 'EV_ERR_CUSTODY_SIGNATURE_INVALID', 1);
    for (const run of runs) assert.equal(run.stdout.length, 0);
    assert.deepEqual(readdirSync(d), []);
  });
});

describe('examvault custody enrol', () => {
  it('writes exactly the POST /v1/custody/admins body: an enrolment signed by the admin and the epoch key granted to the new admin', async () => {
    const out = join(emptyDir('enrol'), 'adm-2.enrolment.json');
    const run = await cli(enrolArgs(secondAdminNumber, out));
    assertSuccess(run);
    assert.match(run.stderr, /POST \/v1\/custody\/admins/);
    const body = json<{ enrolment: string; grants: EpochGrant[] }>(out);
    assert.deepEqual(Object.keys(body).sort(), ['enrolment', 'grants']);
    const [admin, second] = await Promise.all([registrationOf(adminKeys), registrationOf(secondAdminKeys)]);
    const enrolment = await verifyStatement(fromBase64Url(body.enrolment) as Uint8Array, (signer) => (signer.kind === 'admin' && signer.admin === 'adm-1' ? admin.signingPublicKey : null), 'admin-enrolment');
    assert.ok(enrolment.ok, 'the enrolment verifies under the enrolling admin\'s signing key');
    assert.equal(enrolment.statement.admin, 'adm-2');
    assert.deepEqual(enrolment.statement.enrolledBy, { kind: 'admin', admin: 'adm-1' });
    assert.deepEqual(await memberFingerprint(enrolment.statement), await memberFingerprint(second));
    assert.equal(body.grants.length, 1);
    const epochPublic = fromBase64Url(json<{ publicKey: string }>(`${epochKey}.pub`).publicKey) as Uint8Array;
    const opened = await openGrant(body.grants[0], { institution, epoch: 1, epochPublicKey: epochPublic }, { kind: 'member', member: 'adm-2', keys: second },
      await memberPrivateKey(secondAdminKeys, 'admin-hpke', 'adm-2'));
    assert.deepEqual(await publicKeyOf(opened), epochPublic);
  });

  it('refuses a safety number that is not the registration\'s, before any passphrase, and writes nothing', async () => {
    const d = emptyDir('enrol-mismatch');
    const run = await cli(without(enrolArgs(reviewerNumber, join(d, 'e.json')), '--passphrase-file'));
    assertFailure(run, 'EV_ERR_CUSTODY_SAFETY_NUMBER_MISMATCH', 1);
    assert.match(run.stderr, /^hint: do not enrol/m);
    assert.deepEqual(readdirSync(d), []);
  });

  it('refuses a wrong passphrase, a tampered registration, a reviewer\'s key as --key and enrolling oneself, writing nothing', async () => {
    const d = emptyDir('enrol-refused');
    const out = join(d, 'e.json');
    const forged = edited(secondAdminKeys, 'enrol-forged', (doc) => {
      doc.registration = flip(doc.registration, -5);
    });
    const own = (await cli(['custody', 'safety-number', adminKeys])).stdout.toString('utf8').trim();
    const runs = await Promise.all([
      cli(withFlag(enrolArgs(secondAdminNumber, out), '--passphrase-file', wrongPassphraseFile())),
      cli(without(enrolArgs(secondAdminNumber, out, forged), '--passphrase-file')),
      cli(without(enrolArgs(secondAdminNumber, out, secondAdminKeys, reviewerKeys), '--passphrase-file')),
      cli(without(enrolArgs(own, out, adminKeys), '--passphrase-file')),
    ]);
    assertFailure(runs[0] as Run, 'EV_ERR_CRYPTO_DECRYPTION_FAILED', 1);
    assert.match((runs[0] as Run).stderr, /^hint: wrong passphrase/m);
    assertFailure(runs[1] as Run, 'EV_ERR_CUSTODY_SIGNATURE_INVALID', 1);
    assertFailure(runs[2] as Run, 'EV_ERR_CLI_WRONG_ROLE', 1);
    assertFailure(runs[3] as Run, 'EV_ERR_CLI_USAGE', 2);
    assert.match((runs[3] as Run).stderr, /cannot enrol itself/);
    assert.deepEqual(readdirSync(d), []);
  });
});

describe('examvault custody revoke', () => {
  let recoveryFile: string;
  let recoveryFingerprint: string;
  let recoveryKey: string;

  before(async () => {
    recoveryFile = join(dir, 'revoke-setup.json');
    const run = await cli(setUpArgs(recoveryFile));
    assertSuccess(run);
    recoveryKey = run.stdout.toString('utf8').trim();
    recoveryFingerprint = /fingerprint (\S+)/.exec(run.stderr)?.[1] ?? assert.fail('no fingerprint printed');
  });

  function revokeArgs(d: string, more: { fingerprint?: string; recovery?: string; epoch?: string } = {}): string[] {
    return [
      'custody', 'revoke', '--key', adminKeys, '--reviewer', 'rev-2', '--epoch', more.epoch ?? '2', '--recovery', more.recovery ?? recoveryFile,
      '--recovery-fingerprint', more.fingerprint ?? recoveryFingerprint, '--new-epoch-key', join(d, 'epoch-2.key'),
      '--passphrase-file', passFile, '--new-epoch-passphrase-file', passFile, '-o', join(d, 'revocation.json'),
    ];
  }

  it('writes the new epoch key pair, wrapped, and the POST /v1/custody/revocations body with the new key granted to the recovery key', async () => {
    const d = emptyDir('revoke');
    const run = await cli(revokeArgs(d));
    assertSuccess(run);
    assert.deepEqual(readdirSync(d).sort(), ['epoch-2.key', 'epoch-2.key.pub', 'revocation.json'], printed(run));
    assert.equal(statSync(join(d, 'epoch-2.key')).mode & 0o777, 0o600);
    const unlocked = await unlockPrivateKey(json(join(d, 'epoch-2.key')), passphrase);
    const epochPublic = fromBase64Url(json<{ publicKey: string }>(join(d, 'epoch-2.key.pub')).publicKey) as Uint8Array;
    assert.deepEqual(unlocked.publicKey, epochPublic);
    assert.equal(run.stdout.toString('utf8').trim(), createHash('sha256').update(epochPublic).digest('hex'), 'stdout is the new key\'s fingerprint, as keygen prints it');

    const body = json<{ revocation: string; recoveryGrant: EpochGrant }>(join(d, 'revocation.json'));
    assert.deepEqual(Object.keys(body).sort(), ['recoveryGrant', 'revocation']);
    const admin = await registrationOf(adminKeys);
    const revocation = await verifyStatement(fromBase64Url(body.revocation) as Uint8Array, (signer) => (signer.kind === 'admin' && signer.admin === 'adm-1' ? admin.signingPublicKey : null), 'revocation');
    assert.ok(revocation.ok, 'the revocation verifies under the admin\'s signing key');
    assert.deepEqual({ reviewer: revocation.statement.reviewer, epoch: revocation.statement.epoch, institution: revocation.statement.institution }, { reviewer: 'rev-2', epoch: 2, institution });
    assert.deepEqual(revocation.statement.epochPublicKey, epochPublic);
    const recovery = await deriveRecoveryKeys(await parseRecoveryKey(recoveryKey));
    const opened = await openGrant(body.recoveryGrant, { institution, epoch: 2, epochPublicKey: epochPublic }, { kind: 'recovery', keys: recovery }, recovery.hpke.privateKey);
    assert.deepEqual(await publicKeyOf(opened), epochPublic);
  });

  it('refuses a recovery key of another fingerprint, a tampered or foreign recovery statement, and epoch 1, before any passphrase, leaving no file', async () => {
    const d = emptyDir('revoke-recovery');
    const forged = join(d, '..', 'forged-recovery.json');
    writeFileSync(forged, JSON.stringify({ ...json(recoveryFile), institution: flip(json<{ institution: string }>(recoveryFile).institution, -5) }));
    const otherSetUp = join(emptyDir('other-setup'), 'setup.json');
    assertSuccess(await cli(setUpArgs(otherSetUp)));
    const runs = await Promise.all([
      cli(without(revokeArgs(d, { recovery: otherSetUp }), '--passphrase-file')),
      cli(without(revokeArgs(d, { recovery: forged }), '--passphrase-file')),
      cli(without(revokeArgs(d, { epoch: '1' }), '--passphrase-file')),
      cli(without(revokeArgs(d, { recovery: reviewerKeys }), '--passphrase-file')),
    ]);
    assertFailure(runs[0] as Run, 'EV_ERR_CUSTODY_BINDING_MISMATCH', 1);
    assert.match((runs[0] as Run).stderr, /^hint: do not revoke with it/m);
    assertFailure(runs[1] as Run, 'EV_ERR_CUSTODY_SIGNATURE_INVALID', 1);
    assertFailure(runs[2] as Run, 'EV_ERR_CLI_USAGE', 2);
    assertFailure(runs[3] as Run, 'EV_ERR_CUSTODY_MALFORMED', 1);
    assert.deepEqual(readdirSync(d), []);
  });

  it('a wrong passphrase, a reviewer\'s key and an existing output leave no key file and no body', async () => {
    const d = emptyDir('revoke-refused');
    const runs = await Promise.all([
      cli(withFlag(revokeArgs(d), '--passphrase-file', wrongPassphraseFile())),
      cli(without(withFlag(revokeArgs(d), '--key', reviewerKeys), '--passphrase-file')),
    ]);
    assertFailure(runs[0] as Run, 'EV_ERR_CRYPTO_DECRYPTION_FAILED', 1);
    assertFailure(runs[1] as Run, 'EV_ERR_CLI_WRONG_ROLE', 1);
    assert.deepEqual(readdirSync(d), []);

    // An existing public key file: refused before any passphrase, and the other two are not left behind.
    writeFileSync(join(d, 'epoch-2.key.pub'), 'kept');
    assertFailure(await cli(without(revokeArgs(d), '--passphrase-file')), 'EV_ERR_CLI_FILE_EXISTS', 1);
    assert.deepEqual(readdirSync(d), ['epoch-2.key.pub']);
    assert.equal(readFileSync(join(d, 'epoch-2.key.pub'), 'utf8'), 'kept');
  });
});

describe('examvault open of a case bundle', () => {
  let screen: string;
  let screenPlaintext: Buffer;
  let reviewer: { keys: MemberPublicKeys; signingKey: CryptoKey };
  let other: { keys: MemberPublicKeys; signingKey: CryptoKey };
  let epochPrivateKey: CryptoKey;

  /** A member's public keys (from its registration) and signing key (unwrapped), as its browser holds them. */
  async function memberOf(file: string, member: string): Promise<{ keys: MemberPublicKeys; signingKey: CryptoKey }> {
    const doc = json<{ registration: string; wrappedKeys: Record<string, unknown> }>(file);
    const registration = await verifyStatement(fromBase64Url(doc.registration) as Uint8Array, () => null, 'key-registration');
    assert.ok(registration.ok);
    const { privateKey } = await unwrapPrivateKey(doc.wrappedKeys['reviewer-signing'], { purpose: 'reviewer-signing', institution, owner: member }, { passphrase });
    return { keys: registration.statement, signingKey: privateKey };
  }

  /** A bundle of the camera and screen recordings, exported by `by` for rev-1 (or as `member` says). */
  async function bundle(name: string, options: { by?: typeof reviewer; keys?: MemberPublicKeys; member?: string; screenBytes?: Uint8Array } = {}): Promise<string> {
    const items = await Promise.all([readFileSync(sealed), options.screenBytes ?? readFileSync(screen)].map(async (file) => ({
      sealed: new Uint8Array(file),
      dataKey: await unwrapRecordingKey(locateRecords(file).header, epochPrivateKey),
    })));
    const bytes = await createCaseBundle({
      institution,
      exam: 'chem-101',
      attempt: 'att-1',
      member: options.member ?? 'rev-1',
      keys: options.keys ?? reviewer.keys,
      signingKey: (options.by ?? reviewer).signingKey,
      items,
    });
    const path = join(dir, `${name}.evcase`);
    writeFileSync(path, bytes);
    return path;
  }

  before(async () => {
    screenPlaintext = randomData(3000);
    screen = await sealToEpoch('screen', screenPlaintext);
    [reviewer, other, { privateKey: epochPrivateKey }] = await Promise.all([
      memberOf(reviewerKeys, 'rev-1'),
      memberOf(otherKeys, 'rev-2'),
      unlockPrivateKey(json(epochKey), passphrase),
    ]);
  });

  function openBundleArgs(path: string, out: string, key = reviewerKeys): string[] {
    return ['open', '--key', key, '--passphrase-file', passFile, '-o', out, path];
  }

  it('opens every recording into a new directory with the member key alone, and lists them', async () => {
    const path = await bundle('case');
    const out = join(dir, 'case-out');
    const run = await cli(openBundleArgs(path, out));
    assertSuccess(run);
    const report = JSON.parse(run.stdout.toString('utf8')) as { exportedBy: string; attempt: string; files: { file: string; track: string }[] };
    assert.equal(report.exportedBy, 'rev-1');
    assert.equal(report.attempt, 'att-1');
    assert.deepEqual(report.files.map((f) => f.track), ['camera', 'screen']);
    assert.deepEqual(readdirSync(out).sort(), report.files.map((f) => f.file).sort());
    assert.deepEqual(readFileSync(join(out, report.files[0]?.file ?? '')), plaintext);
    assert.deepEqual(readFileSync(join(out, report.files[1]?.file ?? '')), screenPlaintext);
  });

  /** Opening must fail with `code` and leave neither the directory nor a temporary one. */
  async function assertBundleRefused(path: string, code: string, key = reviewerKeys): Promise<void> {
    const d = emptyDir('bundle-refused');
    const run = await cli(openBundleArgs(path, join(d, 'out'), key));
    assertFailure(run, code, 1);
    assert.equal(run.stdout.length, 0);
    assert.deepEqual(readdirSync(d), [], 'no output directory and no temporary one');
  }

  it('a recording changed after export, and one whose segment fails only once decrypting has begun', async () => {
    const path = await bundle('case-tampered');
    const bytes = readFileSync(path);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 1;
    writeFileSync(path, bytes);
    await assertBundleRefused(path, 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
    // Signed as it is by a faulty exporter: the hashes match, and the last screen segment fails while
    // the camera recording is already written to the temporary directory. Nothing may remain.
    const screenBytes = readFileSync(screen);
    const last = locateRecords(screenBytes).records.at(-1) ?? assert.fail('records');
    screenBytes[last.offset + 3] = (screenBytes[last.offset + 3] as number) ^ 1;
    await assertBundleRefused(await bundle('case-bad-segment', { screenBytes }), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });

  it('a bundle for rev-1 opened with rev-2\'s keys, and one naming rev-1 but signed by rev-2', async () => {
    await assertBundleRefused(await bundle('case-for-rev-1'), 'EV_ERR_CUSTODY_BINDING_MISMATCH', otherKeys);
    await assertBundleRefused(await bundle('case-forged', { by: other }), 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
  });

  it('a bundle whose manifest was edited, and a bundle without -o', async () => {
    const path = await bundle('case-edited');
    const bytes = readFileSync(path);
    const at = bytes.indexOf('"att-1"');
    bytes.write('"att-2"', at);
    writeFileSync(path, bytes);
    await assertBundleRefused(path, 'EV_ERR_CUSTODY_SIGNATURE_INVALID');
    assertFailure(await cli(['open', '--key', reviewerKeys, '--passphrase-file', passFile, await bundle('case-no-out')]), 'EV_ERR_CLI_USAGE', 2);
  });
});
