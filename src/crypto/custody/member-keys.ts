/**
 * A staff member's two key pairs (docs/KEY-CUSTODY.md §3): an HPKE key pair (the same suite as epoch
 * keys, epoch-key.ts) that grants are sealed to, and an ECDSA signing key pair for statements. Both are
 * generated on the member's own device. The recovery key has the same two public keys (recovery-key.ts).
 */
import { bs, concat, utf8 } from '../bytes.js';
import { type EpochKeyPair, exportPublicKey, generateEpochKeyPair, PUBLIC_KEY_LENGTH } from '../epoch-key.js';
import { ExamVaultCryptoError } from '../errors.js';
import { exportSigningPublicKey, generateSigningKeyPair } from './signing-key.js';

export const MEMBER_FINGERPRINT_LENGTH = 32;
const FINGERPRINT_LABEL = utf8('examvault/v1/member-keys');

export interface MemberPublicKeys {
  /** 65-byte uncompressed P-256 point: grants are sealed to it. */
  readonly hpkePublicKey: Uint8Array;
  /** 65-byte uncompressed P-256 point: the member's statements verify under it. */
  readonly signingPublicKey: Uint8Array;
}

export interface MemberKeys extends MemberPublicKeys {
  readonly hpke: EpochKeyPair;
  readonly signing: CryptoKeyPair;
}

export async function generateMemberKeys(): Promise<MemberKeys> {
  const [hpke, signing] = await Promise.all([generateEpochKeyPair(), generateSigningKeyPair()]);
  return {
    hpke,
    signing,
    hpkePublicKey: await exportPublicKey(hpke.publicKey),
    signingPublicKey: await exportSigningPublicKey(signing.publicKey),
  };
}

export function checkMemberPublicKeys(keys: MemberPublicKeys): void {
  for (const k of [keys.hpkePublicKey, keys.signingPublicKey]) {
    if (!(k instanceof Uint8Array) || k.length !== PUBLIC_KEY_LENGTH || k[0] !== 0x04) {
      throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'a member public key is a 65-byte uncompressed P-256 point');
    }
  }
}

/**
 * The 32-byte fingerprint of a member's keys: SHA-256("examvault/v1/member-keys" ‖ hpke ‖ signing).
 * Approvals name it and grants are bound to it, so one approval covers exactly one pair of keys.
 */
export async function memberFingerprint(keys: MemberPublicKeys): Promise<Uint8Array> {
  checkMemberPublicKeys(keys);
  const input = concat(FINGERPRINT_LABEL, keys.hpkePublicKey, keys.signingPublicKey);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bs(input)));
}
