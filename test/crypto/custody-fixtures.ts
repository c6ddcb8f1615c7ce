/**
 * Shared helpers of the key-custody tests. Isomorphic like the rest of test/crypto (they also run in
 * Chromium): no node: imports. Keys are generated once per name and reused, since key generation is
 * not what these tests exercise.
 */
import {
  type EpochKeyPair,
  type MemberKeys,
  type Signer,
  type SignerKeyResolver,
  type Statement,
  exportPublicKey,
  generateEpochKeyPair,
  generateMemberKeys,
  memberFingerprint,
} from '../../src/crypto/index.js';

export const INSTITUTION = 'inst-7f3a';
export const OTHER_INSTITUTION = 'inst-9c21';
export const T0 = Date.UTC(2026, 0, 15, 9, 30);

const members = new Map<string, Promise<MemberKeys>>();
/** One key set per name for the whole suite. */
export function member(name: string): Promise<MemberKeys> {
  let keys = members.get(name);
  if (!keys) members.set(name, (keys = generateMemberKeys()));
  return keys;
}

const epochs = new Map<number, Promise<EpochKeyPair>>();
export function epochKeys(epoch: number): Promise<EpochKeyPair> {
  let keys = epochs.get(epoch);
  if (!keys) epochs.set(epoch, (keys = generateEpochKeyPair()));
  return keys;
}

/** A resolver trusting the given admins' signing keys (and a recovery key, if any). */
export function trusting(admins: Record<string, Uint8Array>, recovery?: Uint8Array): SignerKeyResolver {
  return (signer: Signer, _statement: Statement) => {
    if (signer.kind === 'admin') return admins[signer.admin] ?? null;
    if (signer.kind === 'recovery') return recovery ?? null;
    return null;
  };
}

export function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = b.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

/** A deep copy of a JSON document with one string field at `path` replaced. */
export function withField<T>(doc: T, path: readonly string[], value: unknown): T {
  const copy = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path[path.length - 1] as string] = value;
  return copy as T;
}

/** One statement of every type, with the keys that sign each. */
export async function sampleStatements(): Promise<{ statement: Statement; signer: CryptoKey }[]> {
  const admin = await member('adm-1');
  const admin2 = await member('adm-2');
  const reviewer = await member('rev-1');
  const recovery = await member('recovery');
  const epoch1 = await exportPublicKey((await epochKeys(1)).publicKey);
  const epoch2 = await exportPublicKey((await epochKeys(2)).publicKey);
  const base = { institution: INSTITUTION, timestamp: T0 };
  return [
    { statement: { type: 'institution', ...base, hpkePublicKey: recovery.hpkePublicKey, signingPublicKey: recovery.signingPublicKey }, signer: recovery.signing.privateKey },
    { statement: { type: 'admin-enrolment', ...base, admin: 'adm-1', hpkePublicKey: admin.hpkePublicKey, signingPublicKey: admin.signingPublicKey, enrolledBy: { kind: 'recovery' } }, signer: recovery.signing.privateKey },
    { statement: { type: 'admin-enrolment', ...base, admin: 'adm-2', hpkePublicKey: admin2.hpkePublicKey, signingPublicKey: admin2.signingPublicKey, enrolledBy: { kind: 'admin', admin: 'adm-1' } }, signer: admin.signing.privateKey },
    { statement: { type: 'epoch', ...base, admin: 'adm-1', epoch: 1, epochPublicKey: epoch1 }, signer: admin.signing.privateKey },
    { statement: { type: 'key-registration', ...base, reviewer: 'rev-1', hpkePublicKey: reviewer.hpkePublicKey, signingPublicKey: reviewer.signingPublicKey }, signer: reviewer.signing.privateKey },
    { statement: { type: 'approval', ...base, admin: 'adm-1', reviewer: 'rev-1', epoch: 1, fingerprint: await memberFingerprint(reviewer) }, signer: admin.signing.privateKey },
    { statement: { type: 'revocation', ...base, admin: 'adm-2', reviewer: 'rev-1', epoch: 2, epochPublicKey: epoch2 }, signer: admin2.signing.privateKey },
  ];
}

/** The resolver a client holding the sample log's state would use. */
export async function sampleTrust(): Promise<SignerKeyResolver> {
  return trusting({ 'adm-1': (await member('adm-1')).signingPublicKey, 'adm-2': (await member('adm-2')).signingPublicKey }, (await member('recovery')).signingPublicKey);
}
