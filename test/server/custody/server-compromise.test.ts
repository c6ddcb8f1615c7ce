/**
 * Server compromise (issue 4, "What must be shown"): a full custody scenario through the real app —
 * institution set-up with its epoch key pair and recovery key made client-side, an admin and two
 * reviewers registering keys (wrapped by passphrase, one also by a passkey PRF), both reviewers
 * approved, media-like recordings uploaded, one unlock, one revocation with a new epoch and a recording
 * after it. The test process plays every client and keeps every secret. Then the services are closed
 * and the test takes everything the server holds: every file of the data directory (live, with the
 * WAL files, and after close), the configuration and every log line. With all of it:
 *  1. no private key, data key, passphrase, PRF output or media plaintext occurs anywhere (raw, hex,
 *     base64 and base64url at every alignment), not even inside the at-rest objects once decrypted;
 *  2. every at-rest object is decrypted with the cells' own keyrings, and still no header's data key
 *     unwraps and no grant opens with any key-like value the server holds, and no recording opens
 *     with any 32-byte value it holds (the key commitment refuses them all);
 *  3. the wrapped private keys it holds do not unwrap without the passphrase or the PRF output.
 * Positive controls show each check would see the secret if it were there.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Kysely } from 'kysely';
import {
  type EpochGrant,
  type EpochKeyPair,
  type MemberKeys,
  type PassphraseKey,
  type PrfResult,
  createGrant,
  createRecordingSealer,
  decodeHeader,
  derivePassphraseKey,
  deriveRecoveryKeys,
  exportPrivateKey,
  exportPublicKey,
  fromBase64Url,
  generateEpochKeyPair,
  generateRecoverySecret,
  importPrivateKey,
  isCryptoError,
  keyPurposes,
  memberFingerprint,
  openGrant,
  openRecording,
  openRecordingWithDataKey,
  passphraseParameters,
  signStatement,
  toBase64Url,
  unwrapPrivateKey,
  unwrapRecordingKey,
  wrapPrivateKey,
} from '../../../src/crypto/index.js';
import type { KeyPurpose } from '../../../src/crypto/index.js';
import { isP256Scalar } from '../../../src/crypto/custody/signing-key.js';
import { openSqlite } from '../../../src/server/db/dialect.sqlite.js';
import type { CellDatabase } from '../../../src/server/db/schema.js';
import { openCellKeyring, openCellObjects } from '../../../src/server/regions/cell-storage.fs.js';
import { cellDir } from '../../../src/server/regions/cells.js';
import { decodeKeyRecord, keyRecordAad } from '../../../src/server/storage/at-rest.js';
import { EncryptedBlobStore } from '../../../src/server/storage/blob-store.encrypted.js';
import { SqlBlobStore } from '../../../src/server/storage/blob-store.sql.js';
import { ensureLocalCertificate } from '../../../src/server/tls/local-certificate.js';
import { type StoredFile, filesContaining, readAllFiles } from '../support/data-files.js';
import { type TestInstitution, type TestServer, octets, startTestServer } from '../support/test-server.js';
import { type Staff, addStaff, approve, setUp } from './support.js';

// ---------------------------------------------------------------------------------------------
// The clients' side: every secret the scenario makes stays here.

interface Secret {
  readonly what: string;
  readonly bytes: Uint8Array;
}

interface Member {
  readonly staff: Staff;
  readonly passphrase: string;
  readonly passphraseKey: PassphraseKey;
  readonly prf?: PrfResult;
}

interface Recording {
  readonly id: string;
  readonly epoch: number;
  readonly header: Uint8Array;
  readonly chunks: Buffer[];
  readonly markers: string[];
}

const MARKER = 'EXAMVAULT-MEDIA-PLAINTEXT-MARKER';

/** Media-like plaintext: a container signature, random body, a known marker. */
function mediaLike(kind: number, size: number, marker: string): Buffer {
  const magics = [Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('OggS', 'latin1'), Buffer.from([0x89, 0x50, 0x4e, 0x47])];
  const body = randomBytes(size);
  (magics[kind % magics.length] as Buffer).copy(body, 0);
  Buffer.from(marker, 'latin1').copy(body, 100);
  return body;
}

/** The signing scalar of an (extractable) ECDSA key, and the HPKE scalar of an HPKE key. */
async function signingScalar(key: CryptoKey): Promise<Uint8Array> {
  const jwk = await crypto.subtle.exportKey('jwk', key);
  return fromBase64Url(jwk.d ?? '') as Uint8Array;
}

/** The member's client: a self-signed registration and its private keys wrapped by passphrase (and PRF). */
async function registerMember(s: TestServer, m: Member): Promise<void> {
  const { staff } = m;
  const keys: MemberKeys = staff.keys;
  const registration = await signStatement({
    type: 'key-registration',
    institution: staff.institution.id,
    timestamp: Date.now(),
    reviewer: staff.id,
    hpkePublicKey: keys.hpkePublicKey,
    signingPublicKey: keys.signingPublicKey,
  }, keys.signing.privateKey);
  const protectors = m.prf ? [{ passphraseKey: m.passphraseKey }, { prf: m.prf }] : [{ passphraseKey: m.passphraseKey }];
  const prefix = staff.role === 'admin' ? 'admin' : 'reviewer';
  const wrappedKeys = {
    [`${prefix}-hpke`]: await wrapPrivateKey(keys.hpke.privateKey, { purpose: `${prefix}-hpke`, institution: staff.institution.id, owner: staff.id }, protectors),
    [`${prefix}-signing`]: await wrapPrivateKey(keys.signing.privateKey, { purpose: `${prefix}-signing`, institution: staff.institution.id, owner: staff.id }, protectors),
  };
  const r = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: staff.send, payload: { registration: toBase64Url(registration), wrappedKeys } });
  assert.equal(r.statusCode, 200, r.body);
}

/** The admin's client grants the epoch key to the admin itself (its own keys, no safety number to compare). */
async function grantSelf(s: TestServer, admin: Staff, epoch: number, epochKeys: EpochKeyPair): Promise<void> {
  const grant = await createGrant(epochKeys.privateKey, { institution: admin.institution.id, epoch }, { kind: 'member', member: admin.id, keys: admin.keys });
  const approval = await signStatement({
    type: 'approval',
    institution: admin.institution.id,
    timestamp: Date.now(),
    admin: admin.id,
    reviewer: admin.id,
    epoch,
    fingerprint: await memberFingerprint(admin.keys),
  }, admin.keys.signing.privateKey);
  const r = await s.app.inject({ method: 'POST', url: '/v1/custody/grants', headers: admin.send, payload: { grant, approval: toBase64Url(approval) } });
  assert.equal(r.statusCode, 201, r.body);
}

/** A test taker's recorder seals media-like chunks to the epoch key and uploads them. */
async function record(s: TestServer, inst: TestInstitution, id: string, epoch: number, epochPublicKey: CryptoKey, track: 'camera' | 'screen' | 'microphone'): Promise<Recording> {
  const att = await s.attempt(inst);
  const sealer = await createRecordingSealer({
    context: { institution: inst.id, region: inst.region, exam: att.exam, attempt: att.attempt, recording: id, track, mediaType: 'video/webm' },
    recipient: epochPublicKey,
    epoch,
    maxSegment: 32 * 1024,
  });
  const created = await s.app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
  assert.equal(created.statusCode, 201, created.body);
  const markers: string[] = [];
  const chunks: Buffer[] = [];
  for (let i = 0; i < 3; i++) {
    const marker = `${MARKER}-${id}-${i}`;
    markers.push(marker);
    chunks.push(mediaLike(i, 12_000 + i * 3_001, marker));
    const sealed = await sealer.sealNext(chunks[i] as Buffer, i === 2);
    const put = await s.app.inject({ method: 'PUT', url: `/v1/recordings/${id}/segments/${i}`, headers: octets(att.token), payload: Buffer.from(sealed) });
    assert.equal(put.statusCode, 201, put.body);
  }
  const done = await s.app.inject({ method: 'POST', url: `/v1/recordings/${id}/complete`, headers: { authorization: `Bearer ${att.token}` }, payload: { segmentCount: 3 } });
  assert.equal(done.statusCode, 200, done.body);
  return { id, epoch, header: sealer.header.bytes, chunks, markers };
}

// ---------------------------------------------------------------------------------------------
// The attacker's side: searching and harvesting what the server holds.

/**
 * The encodings a secret could be stored in: raw, lower/upper hex, and base64/base64url at each of the
 * three alignments it could have inside a longer encoded string (only the characters that depend on
 * the secret's bytes alone).
 */
function encodings(bytes: Uint8Array): Buffer[] {
  const raw = Buffer.from(bytes);
  const out = [raw, Buffer.from(raw.toString('hex')), Buffer.from(raw.toString('hex').toUpperCase())];
  for (let shift = 0; shift < 3; shift++) {
    const shifted = Buffer.concat([Buffer.alloc(shift), raw]);
    const start = shift === 0 ? 0 : 3;
    const end = Math.floor(shifted.length / 3) * 3;
    const inner = shifted.subarray(start, end);
    out.push(Buffer.from(inner.toString('base64')), Buffer.from(inner.toString('base64url')));
  }
  return out;
}

function decodeToken(token: string): Buffer[] {
  const out: Buffer[] = [];
  if (token.length >= 40 && /^[0-9a-fA-F]+$/.test(token) && token.length % 2 === 0) out.push(Buffer.from(token, 'hex'));
  if (token.length >= 40 && /^[A-Za-z0-9+/]+={0,2}$/.test(token)) out.push(Buffer.from(token, 'base64'));
  if (token.length >= 40 && /^[A-Za-z0-9_-]+$/.test(token)) out.push(Buffer.from(token, 'base64url'));
  return out;
}

/** Collects every 32-byte value in a stored value: bytes, encoded strings, JSON, PEM/DER private keys. */
class Harvest {
  readonly candidates = new Map<string, Uint8Array>();
  readonly sources = new Map<string, string>();

  add(bytes: Uint8Array, source: string): void {
    if (bytes.length !== 32) return;
    const hex = Buffer.from(bytes).toString('hex');
    if (!this.candidates.has(hex)) {
      this.candidates.set(hex, new Uint8Array(bytes));
      this.sources.set(hex, source);
    }
  }

  /** A DER or PEM private key (the TLS key, the audit log key): its scalar. */
  privateKey(key: string | Buffer, source: string): void {
    try {
      const k = typeof key === 'string' ? createPrivateKey(key) : createPrivateKey({ key, format: 'der', type: 'pkcs8' });
      const d = k.export({ format: 'jwk' }).d;
      if (d) this.add(Buffer.from(d, 'base64url'), `${source} (private key)`);
    } catch {
      // not a private key
    }
  }

  bytes(b: Buffer, source: string): void {
    this.add(b, source);
    if (b.length > 32 && b.length < 4096) this.privateKey(b, source);
    if (b.length > 2 && b.length < 1_000_000) {
      const text = b.toString('utf8');
      if (/^[\s\x20-\x7e]*$/.test(text)) this.text(text, source);
    }
  }

  text(text: string, source: string): void {
    if (text.includes('PRIVATE KEY-----')) this.privateKey(text, source);
    const trimmed = text.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        this.json(JSON.parse(trimmed), source);
        return;
      } catch {
        // not JSON
      }
    }
    for (const line of text.split('\n')) {
      if (line.trim().startsWith('{')) {
        try {
          this.json(JSON.parse(line), source);
          continue;
        } catch {
          // not a JSON line
        }
      }
      for (const token of line.split(/[^A-Za-z0-9+/=_-]+/)) for (const piece of [token, ...token.split('+')]) for (const d of decodeToken(piece)) this.bytes(d, source);
    }
  }

  json(value: unknown, source: string): void {
    if (typeof value === 'string') this.text(value, source);
    else if (Array.isArray(value)) for (const v of value) this.json(v, source);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) this.json(v, source);
  }
}

/** Every row of every table of a SQLite database file, read as an attacker would. */
function sqliteRows(path: string): { table: string; row: Record<string, unknown> }[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    return tables.flatMap(({ name }) => (db.prepare(`SELECT * FROM "${name.replace(/"/g, '""')}"`).all() as Record<string, unknown>[]).map((row) => ({ table: name, row })));
  } finally {
    db.close();
  }
}

async function failsOpaquely(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return false;
  } catch (e) {
    return isCryptoError(e);
  }
}

describe('server compromise', () => {
  it('with everything the server holds — files, keyrings, config, logs — nothing opens and no secret is in it', async (t) => {
    const started = Date.now();
    const logs: string[] = [];
    const s = await startTestServer(t, { EXAMVAULT_LOG_LEVEL: 'trace' }, { logStream: { write: (line: string) => void logs.push(line) } });
    // What `npm start` makes on first start: the TLS key lives in the data directory too.
    await ensureLocalCertificate(s.dataDir);

    const secrets: Secret[] = [];
    const keep = (what: string, bytes: Uint8Array): void => void secrets.push({ what, bytes: new Uint8Array(bytes) });

    // --- Institution set-up: epoch 1 key pair (s.institution generates it here, client-side) and the recovery key.
    const inst = await s.institution('eu');
    const epoch1Public = await exportPublicKey(inst.keys.publicKey);
    keep('epoch 1 private key', await exportPrivateKey(inst.keys.privateKey));
    const recoverySecret = generateRecoverySecret();
    keep('recovery secret', recoverySecret);
    const recovery = await deriveRecoveryKeys(recoverySecret);
    keep('recovery HPKE private key', await exportPrivateKey(recovery.hpke.privateKey));
    // The recovery key's copy of each epoch key stays with the institution (printed with the recovery key).
    const recoveryGrants: EpochGrant[] = [await createGrant(inst.keys.privateKey, { institution: inst.id, epoch: 1 }, { kind: 'recovery', keys: recovery })];

    // --- Staff: an admin and two reviewers, each with their own passphrase; rev-b also with a passkey PRF.
    const member = async (id: string, role: 'admin' | 'reviewer', passphrase: string, prf?: PrfResult): Promise<Member> => {
      const staff = await addStaff(s, inst, id, role);
      keep(`${id} HPKE private key`, await exportPrivateKey(staff.keys.hpke.privateKey));
      keep(`${id} signing private key`, await signingScalar(staff.keys.signing.privateKey));
      keep(`${id} passphrase`, Buffer.from(passphrase, 'utf8'));
      if (prf) keep(`${id} PRF output`, prf.output);
      return { staff, passphrase, passphraseKey: await derivePassphraseKey(passphrase), ...(prf ? { prf } : {}) };
    };
    const prf: PrfResult = { credentialId: randomBytes(48), prfInput: randomBytes(32), output: randomBytes(32) };
    const [admin, revA, revB] = await Promise.all([
      member('adm-1', 'admin', 'admin: violet staple orbit 41 quarry'),
      member('rev-a', 'reviewer', 'reviewer a: lantern moss cobalt 77 fjord'),
      member('rev-b', 'reviewer', 'reviewer b: pewter drizzle anchor 19 sable', prf),
    ]);
    for (const m of [admin, revA, revB]) await registerMember(s, m);
    // The admin sets the institution up: the recovery key enrols it and epoch 1 is granted to both.
    await setUp(s, admin.staff, recovery);
    for (const r of [revA, revB]) {
      const approved = await approve(s, admin.staff, r.staff, 1, inst.keys);
      assert.equal(approved.statusCode, 201, approved.body);
    }

    // --- Recordings sealed to epoch 1.
    const recordings: Recording[] = [];
    for (const [i, track] of (['camera', 'screen', 'microphone', 'camera'] as const).entries()) {
      recordings.push(await record(s, inst, `rec-${i}`, 1, inst.keys.publicKey, track));
    }

    // --- One unlock: rev-a's client unwraps its key and grant, unlocks rec-0 and opens every segment.
    const mine = (await s.app.inject({ method: 'GET', url: '/v1/custody/me/keys', headers: revA.staff.get })).json();
    const aHpke = await unwrapPrivateKey(mine.wrappedKeys['reviewer-hpke'], { purpose: 'reviewer-hpke', institution: inst.id, owner: 'rev-a', publicKey: revA.staff.keys.hpkePublicKey }, { passphraseKey: revA.passphraseKey });
    const aGrants = (await s.app.inject({ method: 'GET', url: '/v1/custody/me/grant', headers: revA.staff.get })).json().grants as { epoch: number; grant: unknown }[];
    const aEpoch1 = await openGrant(aGrants.find((g) => g.epoch === 1)?.grant, { institution: inst.id, epoch: 1, epochPublicKey: epoch1Public }, { kind: 'member', member: 'rev-a', keys: revA.staff.keys }, aHpke.privateKey);
    const unlocked = await s.app.inject({ method: 'POST', url: `/v1/custody/recordings/${inst.id}/rec-0/unlock`, headers: revA.staff.send });
    assert.equal(unlocked.statusCode, 200, unlocked.body);
    const opener = await openRecording(fromBase64Url(unlocked.json().header) as Uint8Array, aEpoch1);
    for (const [i, chunk] of (recordings[0] as Recording).chunks.entries()) {
      const seg = await s.app.inject({ method: 'GET', url: `/v1/custody/recordings/${inst.id}/rec-0/segments/${i}`, headers: revA.staff.get });
      assert.equal(seg.statusCode, 200);
      assert.deepEqual(Buffer.from((await opener.openSegment(i, new Uint8Array(seg.rawPayload))).plaintext), chunk);
    }

    // --- Revocation of rev-b: epoch 2, made client-side; rev-a and the admin re-granted; a recording after it.
    const epoch2 = await generateEpochKeyPair();
    const epoch2Public = await exportPublicKey(epoch2.publicKey);
    keep('epoch 2 private key', await exportPrivateKey(epoch2.privateKey));
    recoveryGrants.push(await createGrant(epoch2.privateKey, { institution: inst.id, epoch: 2 }, { kind: 'recovery', keys: recovery }));
    const revocation = await signStatement({ type: 'revocation', institution: inst.id, timestamp: Date.now(), admin: 'adm-1', reviewer: 'rev-b', epoch: 2, epochPublicKey: epoch2Public }, admin.staff.keys.signing.privateKey);
    const revoked = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.staff.send, payload: { revocation: toBase64Url(revocation), recoveryGrant: recoveryGrants[1] } });
    assert.equal(revoked.statusCode, 201, revoked.body);
    await grantSelf(s, admin.staff, 2, epoch2);
    assert.equal((await approve(s, admin.staff, revA.staff, 2, epoch2)).statusCode, 201);
    recordings.push(await record(s, inst, 'rec-after-revocation', 2, epoch2.publicKey, 'screen'));

    // Every recording's data key, unwrapped client-side with the epoch key it was sealed to.
    const epochPrivate = new Map<number, CryptoKey>([[1, inst.keys.privateKey], [2, epoch2.privateKey]]);
    for (const r of recordings) keep(`data key of ${r.id}`, await unwrapRecordingKey(r.header, epochPrivate.get(r.epoch) as CryptoKey));
    assert.equal(recoveryGrants.length, 2);

    // --- Everything the server holds: the data directory live (WAL files included) and after close,
    // the configuration and the logs.
    const cell = s.services.cells.get('eu');
    assert.ok(cell);
    await cell.segmentIndex.idle();
    const live = await readAllFiles(s.dataDir);
    assert.ok(live.some((f) => f.path.endsWith('-wal')), 'the live copy has the WAL files');
    await s.app.close();
    await s.services.close();
    const closed = await readAllFiles(s.dataDir);
    const stolenDir = await mkdtemp(join(tmpdir(), 'examvault-stolen-'));
    const stolen: { db?: Kysely<CellDatabase> } = {};
    t.after(async () => {
      await stolen.db?.destroy();
      await rm(stolenDir, { recursive: true, force: true });
    });
    await cp(s.dataDir, stolenDir, { recursive: true });
    const paths = closed.map((f) => f.path);
    for (const expected of ['cells/eu/metadata.db', 'cells/eu/keyring/keyring.json', 'cells/eu/audit/audit-log-key.json', 'tls/localhost.key']) {
      assert.ok(paths.includes(expected), `the copy holds ${expected}: ${paths.join(', ')}`);
    }
    assert.ok(paths.some((p) => p.startsWith('cells/eu/blobs/objects/')), 'the copy holds the blobs');
    assert.ok(logs.length > 10, 'the app wrote logs');
    const extra: StoredFile[] = [
      { path: '(config)', bytes: Buffer.from(JSON.stringify(s.config, null, 2)) },
      { path: '(logs)', bytes: Buffer.from(logs.join('')) },
    ];

    // Remove the at-rest layer with the cell's own keyring: every object, and every at-rest data key.
    const stolenCell = cellDir(stolenDir, 'eu');
    const stolenDb = (stolen.db = openSqlite<CellDatabase>(join(stolenCell, 'metadata.db')));
    const keyring = await openCellKeyring(stolenCell, 'eu');
    const sealed = await openCellObjects(stolenCell, stolenDb, { reclaimDelayMs: null });
    const store = new EncryptedBlobStore({ objects: sealed, keyRecords: new SqlBlobStore(stolenDb), keyring });
    const harvest = new Harvest();
    const objects: { key: string; bytes: Uint8Array }[] = [];
    for await (const key of store.list('')) {
      const bytes = await store.get(key);
      assert.ok(bytes, key);
      objects.push({ key, bytes });
      // The key record is kept in the object's row of the log store.
      const raw = await keyring.unwrapKey(decodeKeyRecord((await sealed.record(key)) as Uint8Array) as NonNullable<ReturnType<typeof decodeKeyRecord>>, keyRecordAad(key));
      assert.ok(raw, `the at-rest data key of ${key}`);
      harvest.add(raw, `at-rest data key of ${key}`);
    }
    await store.close();
    assert.equal(objects.length, recordings.length * 4, 'a header and three segments per recording');
    const decrypted: StoredFile[] = objects.map((o) => ({ path: `(decrypted) ${o.key}`, bytes: Buffer.from(o.bytes) }));

    const everything = [...live, ...closed, ...extra, ...decrypted];
    const haystack = Buffer.concat(everything.flatMap((f) => [f.bytes, Buffer.from('\n--\n')]));

    // (1) No byte string of a secret, in any encoding, anywhere.
    const found = (needle: Uint8Array | string): string[] => (haystack.includes(typeof needle === 'string' ? Buffer.from(needle) : Buffer.from(needle)) ? filesContaining(everything, needle) : []);
    // Controls: the search does find what the server is meant to hold.
    assert.ok(found(toBase64Url(epoch1Public)).length > 0, 'the epoch public key is stored');
    assert.ok(found(toBase64Url(revA.staff.keys.hpkePublicKey)).length > 0, 'the reviewer public key is stored');
    assert.ok(found((recordings[0] as Recording).header.subarray(0, 32)).length > 0, 'the sealed header is there, once decrypted');
    const leaks: string[] = [];
    for (const secret of secrets) {
      for (const enc of encodings(secret.bytes)) {
        const where = found(enc);
        if (where.length > 0) leaks.push(`${secret.what} in ${where.join(', ')}`);
      }
    }
    let windows = 0;
    for (const r of recordings) {
      for (const m of r.markers) if (found(m).length > 0) leaks.push(`marker ${m} in ${found(m).join(', ')}`);
      for (const chunk of r.chunks) {
        for (let at = 0; at + 32 <= chunk.length; at += 257) {
          windows++;
          for (const enc of encodings(chunk.subarray(at, at + 32))) {
            const where = found(enc);
            if (where.length > 0) leaks.push(`media of ${r.id} at ${at} in ${where.join(', ')}`);
          }
        }
      }
    }
    assert.ok(found(MARKER).length === 0, 'no marker at all');
    assert.deepEqual(leaks, []);
    assert.ok(windows > 800, `${windows} media windows`);

    // (2) Every key-like value the server holds: keyring keys, the audit log key, the TLS key, the
    // at-rest data keys (above), every 32-byte value in any database, file, the config or the logs.
    for (const f of [...live, ...closed, ...extra]) {
      if (!/\.db(-wal|-shm)?$/.test(f.path) && !f.path.includes('blobs/objects/')) harvest.bytes(f.bytes, f.path);
    }
    const rowsOf = (file: string) => sqliteRows(join(stolenDir, file));
    const dbFiles = closed.map((f) => f.path).filter((p) => p.endsWith('.db'));
    assert.ok(dbFiles.length >= 2, `the cell and directory databases: ${dbFiles.join(', ')}`);
    for (const file of dbFiles) {
      for (const { table, row } of rowsOf(file)) {
        for (const [column, value] of Object.entries(row)) {
          const source = `${file} ${table}.${column}`;
          if (Buffer.isBuffer(value)) harvest.bytes(value, source);
          else if (typeof value === 'string') harvest.text(value, source);
        }
      }
    }
    const sourcesOf = new Set(harvest.sources.values());
    const has = (re: RegExp): boolean => [...sourcesOf].some((src) => re.test(src));
    assert.ok(has(/keyring\.json/), 'the keyring key was harvested');
    assert.ok(has(/audit-log-key\.json \(private key\)/), 'the audit log key was harvested');
    assert.ok(has(/localhost\.key \(private key\)/), 'the TLS key was harvested');
    assert.ok(has(/^at-rest data key/), 'the at-rest data keys were harvested');
    assert.ok(has(/metadata\.db/), 'values from the cell database were harvested');
    const candidates = [...harvest.candidates.values()];
    assert.ok(candidates.length >= objects.length + 3, `${candidates.length} candidates`);

    // The sealed headers, as the server holds them (decrypted from at rest), and the grants it stores.
    const headers = objects.map((o) => o.bytes).filter((b) => {
      try {
        decodeHeader(b);
        return true;
      } catch {
        return false;
      }
    });
    assert.equal(headers.length, recordings.length);
    const members = new Map(rowsOf('cells/eu/metadata.db').filter((r) => r.table === 'custody_members').map(({ row }) => [row.member_id as string, row]));
    const grants = rowsOf('cells/eu/metadata.db').filter((r) => r.table === 'custody_grants').map(({ row }) => row);
    assert.equal(grants.length, 6, 'epoch 1 and 2, each for the admin, rev-a and the recovery key (rev-b\'s went with the revocation)');
    // Controls: the clients' keys do open them, so a failure below is the keys', not the harness's.
    for (const h of headers) {
      const epoch = decodeHeader(h).keySlot.epoch;
      await openRecordingWithDataKey(h, await unwrapRecordingKey(h, epochPrivate.get(epoch) as CryptoKey));
    }

    const opened: string[] = [];
    let scalars = 0;
    for (const c of candidates) {
      const label = harvest.sources.get(Buffer.from(c).toString('hex')) ?? '?';
      for (const h of headers) {
        if (!(await failsOpaquely(openRecordingWithDataKey(h, c)))) opened.push(`a recording opened with ${label} as data key`);
      }
      if (!isP256Scalar(c)) continue;
      scalars++;
      const key = await importPrivateKey(c);
      for (const h of headers) {
        if (!(await failsOpaquely(unwrapRecordingKey(h, key)))) opened.push(`a data key unwrapped with ${label}`);
      }
      for (const g of grants) {
        const grant = JSON.parse(g.grant_json as string) as EpochGrant;
        const scope = { institution: inst.id, epoch: Number(g.epoch), epochPublicKey: fromBase64Url(grant.epochPublicKey) as Uint8Array };
        const m = members.get(g.member_id as string);
        // The recovery key's grants are kept under a member id no staff member has; its public keys are the institution statement's.
        const recipient = m
          ? { kind: 'member' as const, member: g.member_id as string, keys: { hpkePublicKey: fromBase64Url(m.hpke_public_key as string) as Uint8Array, signingPublicKey: fromBase64Url(m.signing_public_key as string) as Uint8Array } }
          : { kind: 'recovery' as const, keys: { hpkePublicKey: recovery.hpkePublicKey, signingPublicKey: recovery.signingPublicKey } };
        if (!(await failsOpaquely(openGrant(grant, scope, recipient, key)))) opened.push(`a grant opened with ${label}`);
      }
    }
    assert.deepEqual(opened, []);
    assert.ok(scalars >= 3, `${scalars} candidates were valid P-256 scalars`);

    // (3) The wrapped private keys the server holds: no passphrase, a wrong one, or any 32-byte value
    // it holds as the PRF output — all the same opaque failure.
    const unwrapped: string[] = [];
    const failure = (e: unknown): boolean => isCryptoError(e) && e.code === 'EV_ERR_CRYPTO_DECRYPTION_FAILED';
    for (const [id, row] of members) {
      const docs = JSON.parse(row.wrapped_keys as string) as Record<string, unknown>;
      const params = passphraseParameters(Object.values(docs)[0]);
      assert.ok(params);
      // A blank one, a wrong one, and the other members' real passphrases (each member's own salt).
      const others = [admin, revA, revB].filter((m) => m.staff.id !== id).map((m) => m.passphrase);
      const guesses = await Promise.all([' ', 'wrong passphrase', ...others].map((p) => derivePassphraseKey(p, params)));
      for (const [purpose, doc] of Object.entries(docs)) {
        assert.ok((keyPurposes as readonly string[]).includes(purpose));
        const expected = { purpose: purpose as KeyPurpose, institution: inst.id, owner: id };
        for (const guess of guesses) await assert.rejects(unwrapPrivateKey(doc, expected, { passphraseKey: guess }), failure, `${id} ${purpose}`);
        const credential = (doc as { wrappings: { method: string; credentialId?: string }[] }).wrappings.find((w) => w.method === 'webauthn-prf');
        if (!credential?.credentialId) continue;
        const credentialId = fromBase64Url(credential.credentialId) as Uint8Array;
        for (const c of candidates) {
          try {
            await unwrapPrivateKey(doc, expected, { prf: { credentialId, output: c } });
            unwrapped.push(`${id} ${purpose} with ${harvest.sources.get(Buffer.from(c).toString('hex'))} as PRF output`);
          } catch (e) {
            assert.ok(failure(e));
          }
        }
        // Control: the passkey's real PRF output (client-side only) opens it.
        await unwrapPrivateKey(doc, expected, { prf: { credentialId, output: prf.output } });
      }
    }
    assert.deepEqual(unwrapped, []);
    // An empty passphrase is refused by the client before any derivation (nothing to learn from it);
    // a wrong one through the plain passphrase form is the same opaque failure.
    const adminDocs = JSON.parse(members.get('adm-1')?.wrapped_keys as string) as Record<string, unknown>;
    const adminSigning = { purpose: 'admin-signing' as const, institution: inst.id, owner: 'adm-1' };
    await assert.rejects(unwrapPrivateKey(adminDocs['admin-signing'], adminSigning, { passphrase: '' }), (e) => isCryptoError(e) && e.code === 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    await assert.rejects(unwrapPrivateKey(adminDocs['admin-signing'], adminSigning, { passphrase: revA.passphrase }), failure);
    // Control: the admin's own passphrase opens its key.
    await unwrapPrivateKey(adminDocs['admin-signing'], { purpose: 'admin-signing', institution: inst.id, owner: 'adm-1', publicKey: admin.staff.keys.signingPublicKey }, { passphrase: admin.passphrase });

    t.diagnostic(`${everything.length} files/streams (${haystack.length} bytes), ${secrets.length} secrets, ${windows} media windows, ${candidates.length} candidates (${scalars} scalars), ${Date.now() - started} ms`);
  });
});
