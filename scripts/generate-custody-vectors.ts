/**
 * Writes test/vectors/custody-v1.json (docs/KEY-CUSTODY.md §11). Run once when the formats are
 * defined; the file is checked in and the tests only read it, so an implementation change that alters
 * an encoding, a derivation or a safety number is caught.
 *
 *   node --import tsx scripts/generate-custody-vectors.ts > test/vectors/custody-v1.json
 *
 * Keys are derived from fixed seeds. ECDSA signatures are randomized, so a statement vector holds one
 * valid signature (checked by verifying it), while its encoding is checked byte for byte. Wrapped keys
 * use random IVs and salts: their vectors are decryption known-answers.
 */
import {
  type EpochGrant,
  type GrantRecipient,
  type KeyBinding,
  type Statement,
  createGrant,
  deriveRecoveryKeys,
  encodeStatement,
  exportPrivateKey,
  exportPublicKey,
  formatRecoveryKey,
  fromHex,
  importSigningKeyPair,
  memberFingerprint,
  safetyNumber,
  signStatement,
  toBase64Url,
  toHex,
  wrapPrivateKey,
} from '../src/crypto/index.js';
import { bs, concat, str8, u16, utf8 } from '../src/crypto/bytes.js';
import { hpke } from '../src/crypto/hpke.js';
import { sign } from '../src/crypto/custody/signing-key.js';
import { type CustodyVectors, statementToJson } from '../test/crypto/custody-vector-format.js';

const seed = async (label: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', bs(utf8(`examvault custody vectors ${label}`))));

async function hpkePair(label: string) {
  return hpke.kem.deriveKeyPair(await seed(label));
}

/** A signing key from a seeded scalar (SHA-256 of a label: in range with overwhelming probability). */
async function signingPair(label: string) {
  const pair = await importSigningKeyPair(await seed(label), true);
  return { ...pair, raw: new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)) };
}

async function memberOf(label: string) {
  const h = await hpkePair(`${label} hpke`);
  const s = await signingPair(`${label} signing`);
  return { hpke: h, signing: s, hpkePublicKey: await exportPublicKey(h.publicKey), signingPublicKey: s.raw };
}

const institution = 'inst-vectors';
const T = Date.UTC(2026, 0, 15, 9, 30);
const admin = await memberOf('adm-1');
const admin2 = await memberOf('adm-2');
const reviewer = await memberOf('rev-1');
const recoverySecret = await seed('recovery secret');
const recovery = await deriveRecoveryKeys(recoverySecret);
const epoch1 = await hpkePair('epoch 1');
const epoch2 = await hpkePair('epoch 2');
const epoch1Pub = await exportPublicKey(epoch1.publicKey);

const memberFingerprints = [];
for (const m of [admin, reviewer, recovery]) {
  memberFingerprints.push({ hpkePublicKey: toHex(m.hpkePublicKey), signingPublicKey: toHex(m.signingPublicKey), fingerprint: toHex(await memberFingerprint(m)) });
}

const safetyNumbers = [];
for (const [inst, id, m] of [[institution, 'rev-1', reviewer], [institution, 'adm-1', admin], ['inst-2', 'rev-1', reviewer], [institution, 'rev-10', reviewer]] as const) {
  safetyNumbers.push({ institution: inst, member: id, hpkePublicKey: toHex(m.hpkePublicKey), signingPublicKey: toHex(m.signingPublicKey), safetyNumber: await safetyNumber({ institution: inst, member: id, keys: m }) });
}

const base = { institution, timestamp: T };
const valid: [string, Statement, CryptoKey][] = [
  ['institution root, signed by the recovery key', { type: 'institution', ...base, hpkePublicKey: recovery.hpkePublicKey, signingPublicKey: recovery.signingPublicKey }, recovery.signing.privateKey],
  ['first admin, enrolled by the recovery key', { type: 'admin-enrolment', ...base, admin: 'adm-1', hpkePublicKey: admin.hpkePublicKey, signingPublicKey: admin.signingPublicKey, enrolledBy: { kind: 'recovery' } }, recovery.signing.privateKey],
  ['second admin, enrolled by the first', { type: 'admin-enrolment', ...base, admin: 'adm-2', hpkePublicKey: admin2.hpkePublicKey, signingPublicKey: admin2.signingPublicKey, enrolledBy: { kind: 'admin', admin: 'adm-1' } }, admin.signing.privateKey],
  ['epoch 1', { type: 'epoch', ...base, admin: 'adm-1', epoch: 1, epochPublicKey: epoch1Pub }, admin.signing.privateKey],
  ['reviewer key registration, self-signed', { type: 'key-registration', ...base, reviewer: 'rev-1', hpkePublicKey: reviewer.hpkePublicKey, signingPublicKey: reviewer.signingPublicKey }, reviewer.signing.privateKey],
  ['approval of the reviewer at epoch 1', { type: 'approval', ...base, admin: 'adm-1', reviewer: 'rev-1', epoch: 1, fingerprint: await memberFingerprint(reviewer) }, admin.signing.privateKey],
  ['revocation of the reviewer, epoch 2 starts', { type: 'revocation', ...base, timestamp: T + 86_400_000, admin: 'adm-2', reviewer: 'rev-1', epoch: 2, epochPublicKey: await exportPublicKey(epoch2.publicKey) }, admin2.signing.privateKey],
];
const statements = [];
for (const [name, statement, key] of valid) {
  const encoded = encodeStatement(statement);
  statements.push({
    name,
    statement: statementToJson(statement),
    encoded: toHex(encoded),
    toBeSigned: toHex(concat(str8(`examvault/v1/statement/${statement.type}`), encoded)),
    signed: toHex(await signStatement(statement, key)),
  });
}

// Invalid statements: each breaks one rule and is otherwise well signed, so only that rule refuses it.
const tlv = (tag: number, value: Uint8Array) => concat(Uint8Array.of(tag), u16(value.length), value);
const statementBytes = (type: number, ...fields: Uint8Array[]) => {
  const body = concat(...fields);
  return concat(utf8('EVSTMT'), Uint8Array.of(1, type), u16(body.length), body);
};
const signRaw = async (typeName: string, bytes: Uint8Array, key: CryptoKey) => concat(bytes, await sign(key, concat(str8(`examvault/v1/statement/${typeName}`), bytes)));
const ts = Uint8Array.of(0, 0, 1, 0x9b, 0xc1, 0x5c, 0x5c, 0x00);
const epochFields = (signer: Uint8Array) => [tlv(1, utf8(institution)), tlv(2, ts), tlv(3, signer), tlv(5, Uint8Array.of(0, 0, 0, 1)), tlv(9, epoch1Pub)];
const epochSigned = fromHex((statements[3] as { signed: string }).signed);
const approvalSigned = fromHex((statements[5] as { signed: string }).signed);
const flip = (b: Uint8Array, i: number) => {
  const c = b.slice();
  c[i] = (c[i] as number) ^ 1;
  return c;
};
const invalidStatements = [
  { name: 'bad magic', signed: flip(epochSigned, 0), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'version 2', signed: await signRaw('epoch', statementBytes(1, ...epochFields(concat(Uint8Array.of(2), utf8('adm-1')))).map((b, i) => (i === 6 ? 2 : b)), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED' },
  { name: 'unknown type 7', signed: await signRaw('epoch', statementBytes(7, ...epochFields(concat(Uint8Array.of(2), utf8('adm-1')))), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED' },
  { name: 'epoch signed by the recovery key (not allowed for its type)', signed: await signRaw('epoch', statementBytes(3, ...epochFields(Uint8Array.of(3))), recovery.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'fields out of tag order', signed: await signRaw('epoch', statementBytes(3, ...(([a, b, c, d, e]) => [b, a, c, d, e])(epochFields(concat(Uint8Array.of(2), utf8('adm-1')))) as Uint8Array[]), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'a field missing', signed: await signRaw('epoch', statementBytes(3, ...epochFields(concat(Uint8Array.of(2), utf8('adm-1'))).slice(0, 4)), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'an unknown field', signed: await signRaw('epoch', statementBytes(3, ...epochFields(concat(Uint8Array.of(2), utf8('adm-1'))), tlv(10, Uint8Array.of(0))), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'epoch 0', signed: await signRaw('epoch', statementBytes(3, ...epochFields(concat(Uint8Array.of(2), utf8('adm-1'))).map((f, i) => (i === 3 ? tlv(5, new Uint8Array(4)) : f))), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'an admin enrolling itself', signed: await signRaw('admin-enrolment', statementBytes(2, tlv(1, utf8(institution)), tlv(2, ts), tlv(3, concat(Uint8Array.of(2), utf8('adm-1'))), tlv(4, utf8('adm-1')), tlv(6, admin.hpkePublicKey), tlv(7, admin.signingPublicKey)), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'signature cut short', signed: epochSigned.subarray(0, -1), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'a byte after the signature', signed: concat(epochSigned, Uint8Array.of(0)), error: 'EV_ERR_CUSTODY_STATEMENT_MALFORMED' },
  { name: 'signature bit flipped', signed: flip(epochSigned, epochSigned.length - 1), error: 'EV_ERR_CUSTODY_SIGNATURE_INVALID' },
  // The epoch field's last value byte sits just before the epoch public key field (3 + 65 bytes).
  { name: 'epoch number changed after signing', signed: epochSigned.map((b, i) => (i === epochSigned.length - 64 - 68 - 1 ? 3 : b)), error: 'EV_ERR_CUSTODY_SIGNATURE_INVALID' },
  { name: 'approval signed by an admin the client does not know', signed: await signStatement({ ...(valid[5] as [string, Statement, CryptoKey])[1], admin: 'adm-9' } as Statement, admin.signing.privateKey), error: 'EV_ERR_CUSTODY_UNKNOWN_SIGNER' },
  { name: 'approval signed for the wrong type label', signed: await signRaw('revocation', fromHex((statements[5] as { encoded: string }).encoded), admin.signing.privateKey), error: 'EV_ERR_CUSTODY_SIGNATURE_INVALID' },
  { name: 'approval signed by another admin than it names', signed: concat(approvalSigned.subarray(0, -64), (await signRaw('approval', approvalSigned.subarray(0, -64), admin2.signing.privateKey)).subarray(-64)), error: 'EV_ERR_CUSTODY_SIGNATURE_INVALID' },
].map((v) => ({ ...v, signed: toHex(v.signed) }));

const recoveryKeys = [];
for (const secret of [recoverySecret, new Uint8Array(32), new Uint8Array(32).fill(0xff)]) {
  const keys = await deriveRecoveryKeys(secret);
  recoveryKeys.push({ secret: toHex(secret), text: await formatRecoveryKey(secret), hpkePublicKey: toHex(keys.hpkePublicKey), signingPublicKey: toHex(keys.signingPublicKey) });
}
const recoveryText = (recoveryKeys[0] as { text: string }).text;
const invalidRecoveryKeys = [
  { text: recoveryText.replace(/^(.)/, (c) => (c === 'A' ? 'B' : 'A')), error: 'EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM' },
  { text: recoveryText.replace(/(.)$/, (c) => (c === 'A' ? 'B' : 'A')), error: 'EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM' },
  { text: recoveryText.slice(0, -2), error: 'EV_ERR_CUSTODY_RECOVERY_KEY_INVALID' },
  { text: recoveryText.replace(/^./, '9'), error: 'EV_ERR_CUSTODY_RECOVERY_KEY_INVALID' },
];

const grants = [];
for (const [name, recipient, privateKey, signingPublicKey] of [
  ['to a reviewer', { kind: 'member', member: 'rev-1', keys: reviewer }, reviewer.hpke.privateKey, reviewer.signingPublicKey],
  ['to the recovery key', { kind: 'recovery', keys: recovery }, recovery.hpke.privateKey, recovery.signingPublicKey],
] as [string, GrantRecipient, CryptoKey, Uint8Array][]) {
  const ephemeralSeed = await seed(`grant ${name} ephemeral`);
  const grant: EpochGrant = await createGrant(epoch1.privateKey, { institution, epoch: 1 }, recipient, { ephemeralKeyPair: await hpke.kem.deriveKeyPair(ephemeralSeed) });
  const info = concat(utf8('examvault/v1/grant'), str8(institution), Uint8Array.of(0, 0, 0, 1), epoch1Pub, Uint8Array.of(recipient.kind === 'member' ? 1 : 2), str8(recipient.kind === 'member' ? recipient.member : ''), await memberFingerprint(recipient.keys));
  grants.push({
    name,
    epochPrivateKey: toHex(await exportPrivateKey(epoch1.privateKey)),
    institution,
    epoch: 1,
    recipient: recipient.kind === 'member' ? { kind: 'member' as const, member: recipient.member } : { kind: 'recovery' as const },
    recipientPrivateKey: toHex(await exportPrivateKey(privateKey)),
    recipientHpkePublicKey: toHex(recipient.keys.hpkePublicKey),
    recipientSigningPublicKey: toHex(signingPublicKey),
    ephemeralSeed: toHex(ephemeralSeed),
    info: toHex(info),
    grant,
  });
}

const credentialId = await seed('credential id');
const prfOutput = await seed('prf output');
const wrappedKeys = [];
for (const [name, binding, key, unlock] of [
  ['reviewer signing key, by passphrase', { purpose: 'reviewer-signing', institution, owner: 'rev-1' }, reviewer.signing.privateKey, { passphrase: 'correct horse battery staple' }],
  ['reviewer HPKE key, by passkey PRF', { purpose: 'reviewer-hpke', institution, owner: 'rev-1' }, reviewer.hpke.privateKey, { prf: { credentialId, prfInput: await seed('prf input'), output: prfOutput } }],
  ['epoch 1 key held by an admin, by passkey PRF', { purpose: 'epoch', institution, owner: 'adm-1', epoch: 1 }, epoch1.privateKey, { prf: { credentialId, prfInput: await seed('prf input 2'), output: prfOutput } }],
] as [string, KeyBinding, CryptoKey, { passphrase: string } | { prf: { credentialId: Uint8Array; prfInput: Uint8Array; output: Uint8Array } }][]) {
  wrappedKeys.push({
    name,
    binding,
    unlock: 'passphrase' in unlock ? unlock : { prf: { credentialId: toBase64Url(unlock.prf.credentialId), output: toHex(unlock.prf.output) } },
    privateKey: toHex(await exportPrivateKey(key)),
    wrapped: await wrapPrivateKey(key, binding, [unlock]),
  });
}

const vectors: CustodyVectors = {
  description: 'ExamVault key custody v1 known-answer vectors (docs/KEY-CUSTODY.md §11). Byte strings are lowercase hex, except inside the JSON documents (grants, wrapped keys), which use base64url as specified; a credential id in an unlock is base64url.',
  memberFingerprints,
  safetyNumbers,
  trust: { admins: { 'adm-1': toHex(admin.signingPublicKey), 'adm-2': toHex(admin2.signingPublicKey) }, recovery: toHex(recovery.signingPublicKey) },
  statements,
  invalidStatements: invalidStatements as CustodyVectors['invalidStatements'],
  recoveryKeys,
  invalidRecoveryKeys: invalidRecoveryKeys as CustodyVectors['invalidRecoveryKeys'],
  grants,
  wrappedKeys,
};
process.stdout.write(JSON.stringify(vectors, null, 1) + '\n');
