/**
 * Derivation of a recording's stream keys from its data key (docs/SPEC.md §4): one HKDF-SHA256 call
 * yields the AES-256-GCM payload key, the key commitment and the 7-byte nonce prefix.
 */
import { bs, utf8 } from './bytes.js';
import { ExamVaultCryptoError } from './errors.js';

export const DEK_LENGTH = 32;
export const NONCE_PREFIX_LENGTH = 7;
const STREAM_LABEL = utf8('examvault/v1/stream');

export interface StreamKeys {
  readonly payloadKey: CryptoKey;
  readonly commitment: Uint8Array;
  readonly noncePrefix: Uint8Array;
}

/**
 * `usages` of the payload key: a sealer asks for `encrypt` only, so the key it may keep (recording.ts
 * `SealerState`) cannot open anything through WebCrypto. The key is never extractable.
 */
export async function deriveStreamKeys(dek: Uint8Array, salt: Uint8Array, usages: readonly KeyUsage[] = ['encrypt', 'decrypt']): Promise<StreamKeys> {
  if (dek.length !== DEK_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'a data key is 32 bytes');
  }
  const ikm = await crypto.subtle.importKey('raw', bs(dek), 'HKDF', false, ['deriveBits']);
  const okm = new Uint8Array(
    await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: bs(salt), info: bs(STREAM_LABEL) }, ikm, 71 * 8),
  );
  const payloadKey = await crypto.subtle.importKey('raw', okm.subarray(0, 32), 'AES-GCM', false, [...usages]);
  const keys = { payloadKey, commitment: okm.slice(32, 64), noncePrefix: okm.slice(64, 71) };
  okm.fill(0);
  return keys;
}
