/**
 * Grants (docs/KEY-CUSTODY.md §6): an institution's epoch private key sealed with HPKE (the suite of
 * docs/SPEC.md §3) to one member's HPKE public key, or to the recovery key. Only an approved person's
 * client makes a grant: the server holds nothing it could seal.
 *
 * The HPKE info binds the institution, the epoch and its public key, the recipient's id and the
 * fingerprint of both its public keys. The recipient rebuilds the info from what it expects, not from
 * the grant's own fields, so a grant made for anyone or anything else does not open.
 */
import { bs, concat, constantTimeEqual, str8, toBase64Url, u32, utf8 } from '../bytes.js';
import { ENC_LENGTH } from '../header.js';
import { exportPrivateKey, importPrivateKey, importPublicKey, keyPairMatches, PUBLIC_KEY_LENGTH, publicKeyOf } from '../epoch-key.js';
import { DecryptionFailedError, ExamVaultCryptoError } from '../errors.js';
import { hpke } from '../hpke.js';
import { JsonFields } from '../json-fields.js';
import { checkEpoch, checkId } from './ids.js';
import { MEMBER_FINGERPRINT_LENGTH, type MemberPublicKeys, memberFingerprint } from './member-keys.js';

const GRANT_LABEL = utf8('examvault/v1/grant');
const SEALED_SCALAR_LENGTH = 32 + 16;
const RECIPIENT_MEMBER = 1;
const RECIPIENT_RECOVERY = 2;

export type GrantRecipient =
  | { readonly kind: 'member'; readonly member: string; readonly keys: MemberPublicKeys }
  | { readonly kind: 'recovery'; readonly keys: MemberPublicKeys };

export interface GrantScope {
  readonly institution: string;
  readonly epoch: number;
}

export interface EpochGrant {
  readonly format: 'examvault-grant';
  readonly version: 1;
  readonly institution: string;
  readonly epoch: number;
  readonly epochPublicKey: string;
  readonly recipient:
    | { readonly kind: 'member'; readonly member: string; readonly fingerprint: string }
    | { readonly kind: 'recovery'; readonly fingerprint: string };
  readonly enc: string;
  readonly ciphertext: string;
}

export interface GrantOptions {
  /** A fixed HPKE ephemeral key pair, for known-answer vectors only (see key-wrap.ts). */
  readonly ephemeralKeyPair?: CryptoKeyPair;
}

interface Expected {
  readonly institution: string;
  readonly epoch: number;
  readonly epochPublicKey: Uint8Array;
  readonly kind: 'member' | 'recovery';
  readonly member: string;
  readonly fingerprint: Uint8Array;
}

function grantInfo(e: Expected): Uint8Array {
  return concat(
    GRANT_LABEL,
    str8(e.institution),
    u32(e.epoch),
    e.epochPublicKey,
    new Uint8Array([e.kind === 'member' ? RECIPIENT_MEMBER : RECIPIENT_RECOVERY]),
    str8(e.member),
    e.fingerprint,
  );
}

async function expectation(scope: GrantScope, epochPublicKey: Uint8Array, recipient: GrantRecipient): Promise<Expected> {
  if (recipient.kind !== 'member' && recipient.kind !== 'recovery') throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'a grant is for a member or the recovery key');
  return {
    institution: checkId('institution', scope.institution),
    epoch: checkEpoch(scope.epoch),
    epochPublicKey,
    kind: recipient.kind,
    member: recipient.kind === 'member' ? checkId('member', recipient.member) : '',
    fingerprint: await memberFingerprint(recipient.keys),
  };
}

/** Seals the epoch private key to a recipient. `epochPrivateKey` must be extractable. */
export async function createGrant(epochPrivateKey: CryptoKey, scope: GrantScope, recipient: GrantRecipient, options: GrantOptions = {}): Promise<EpochGrant> {
  const e = await expectation(scope, await publicKeyOf(epochPrivateKey), recipient);
  const scalar = await exportPrivateKey(epochPrivateKey);
  try {
    const { enc, ct } = await hpke.seal(
      {
        recipientPublicKey: await importPublicKey(recipient.keys.hpkePublicKey),
        info: bs(grantInfo(e)),
        ...(options.ephemeralKeyPair ? { ekm: options.ephemeralKeyPair } : {}),
      },
      bs(scalar),
    );
    const fingerprint = toBase64Url(e.fingerprint);
    return {
      format: 'examvault-grant',
      version: 1,
      institution: e.institution,
      epoch: e.epoch,
      epochPublicKey: toBase64Url(e.epochPublicKey),
      recipient: e.kind === 'member' ? { kind: 'member', member: e.member, fingerprint } : { kind: 'recovery', fingerprint },
      enc: toBase64Url(new Uint8Array(enc)),
      ciphertext: toBase64Url(new Uint8Array(ct)),
    };
  } finally {
    scalar.fill(0);
  }
}

const json = new JsonFields('EV_ERR_CUSTODY_MALFORMED', 'grant');

function parse(doc: unknown): Expected & { readonly enc: Uint8Array; readonly ciphertext: Uint8Array } {
  const d = json.object(doc, 'the grant');
  json.onlyFields(d, ['format', 'version', 'institution', 'epoch', 'epochPublicKey', 'recipient', 'enc', 'ciphertext'], 'the grant');
  json.constant(d, 'format', 'examvault-grant');
  json.constant(d, 'version', 1);
  const r = json.object(d.recipient, 'recipient');
  const kind = r.kind;
  if (kind !== 'member' && kind !== 'recovery') throw json.fail('recipient.kind must be "member" or "recovery"');
  json.onlyFields(r, kind === 'member' ? ['kind', 'member', 'fingerprint'] : ['kind', 'fingerprint'], 'recipient');
  return {
    institution: checkId('institution', json.string(d, 'institution'), 'EV_ERR_CUSTODY_MALFORMED'),
    epoch: json.integer(d, 'epoch', 1, 0xffffffff),
    epochPublicKey: json.bytes(d, 'epochPublicKey', PUBLIC_KEY_LENGTH),
    kind,
    member: kind === 'member' ? checkId('recipient.member', json.string(r, 'member'), 'EV_ERR_CUSTODY_MALFORMED') : '',
    fingerprint: json.bytes(r, 'fingerprint', MEMBER_FINGERPRINT_LENGTH),
    enc: json.bytes(d, 'enc', ENC_LENGTH),
    ciphertext: json.bytes(d, 'ciphertext', SEALED_SCALAR_LENGTH),
  };
}

/**
 * Opens a grant with the recipient's HPKE private key and returns the epoch private key. `scope` and
 * `epochPublicKey` come from the verified epoch statement, `recipient` is the client's own identity:
 * a grant that names anything else is refused (EV_ERR_CUSTODY_BINDING_MISMATCH), and one that was
 * sealed for anything else does not open (EV_ERR_CRYPTO_DECRYPTION_FAILED).
 */
export async function openGrant(
  grant: unknown,
  scope: GrantScope & { readonly epochPublicKey: Uint8Array },
  recipient: GrantRecipient,
  recipientPrivateKey: CryptoKey,
): Promise<CryptoKey> {
  const g = parse(grant);
  const e = await expectation(scope, scope.epochPublicKey, recipient);
  const differs = (['institution', 'epoch', 'kind', 'member'] as const).find((k) => g[k] !== e[k])
    ?? (['epochPublicKey', 'fingerprint'] as const).find((k) => !constantTimeEqual(g[k], e[k]));
  if (differs) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_BINDING_MISMATCH', `the grant's ${differs} is not the one expected`);
  let scalar: Uint8Array;
  try {
    scalar = new Uint8Array(await hpke.open({ recipientKey: recipientPrivateKey, enc: bs(g.enc), info: bs(grantInfo(e)) }, bs(g.ciphertext)));
  } catch {
    throw new DecryptionFailedError();
  }
  try {
    const key = await importPrivateKey(scalar).catch(() => null);
    // The scalar must be the epoch key the verified statement names, not merely some key.
    if (!key || !(await keyPairMatches(key, e.epochPublicKey))) throw new DecryptionFailedError();
    return key;
  } finally {
    scalar.fill(0);
  }
}
