/**
 * The institution's recovery key (docs/KEY-CUSTODY.md §8): 256 random bits generated at institution
 * set-up on the admin's device and shown once, as 56 base32 characters in 14 groups of 4 with a 24-bit
 * checksum. Everything else is derived from it, deterministically, with HKDF-SHA256:
 *
 * - an HPKE key pair (RFC 9180 DeriveKeyPair), to which each epoch private key is also granted, so the
 *   recovery key restores access when every admin is lost;
 * - an ECDSA P-256 signing key pair, the institution's root: it signs the institution statement and
 *   may enrol a new admin.
 *
 * No curve arithmetic here: the ECDSA scalar is drawn by HKDF with a retry counter until it lies in
 * [1, n-1] and imported through WebCrypto (signing-key.ts).
 */
import { bs, concat, constantTimeEqual, randomBytes, utf8 } from '../bytes.js';
import { exportPublicKey } from '../epoch-key.js';
import { ExamVaultCryptoError } from '../errors.js';
import { hpke } from '../hpke.js';
import type { MemberKeys } from './member-keys.js';
import { exportSigningPublicKey, importSigningKeyPair, isP256Scalar } from './signing-key.js';

export const RECOVERY_SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 3;
const CHECKSUM_LABEL = utf8('examvault/v1/recovery-key');
const HPKE_INFO = utf8('examvault/v1/recovery/hpke');
const SIGNING_INFO = utf8('examvault/v1/recovery/signing');
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 35 bytes = 280 bits = exactly 56 base32 characters. */
export const RECOVERY_KEY_CHARACTERS = 56;
const GROUP = 4;

/** The recovery key's derived keys: the same shape as a member's (an HPKE and a signing key pair). */
export type RecoveryKeys = MemberKeys;

export function generateRecoverySecret(): Uint8Array {
  return randomBytes(RECOVERY_SECRET_LENGTH);
}

async function checksum(secret: Uint8Array): Promise<Uint8Array> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bs(concat(CHECKSUM_LABEL, secret))));
  return digest.slice(0, CHECKSUM_LENGTH);
}

function checkSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length !== RECOVERY_SECRET_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `a recovery secret is ${RECOVERY_SECRET_LENGTH} bytes`);
  }
}

/** RFC 4648 base32 of a whole number of 5-byte blocks, no padding. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
  }
  return out;
}

function fromBase32(text: string): Uint8Array {
  const out = new Uint8Array((text.length * 5) / 8);
  let buffer = 0;
  let bits = 0;
  let i = 0;
  for (const c of text) {
    buffer = ((buffer << 5) | ALPHABET.indexOf(c)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[i++] = (buffer >>> bits) & 0xff;
    }
  }
  return out;
}

/** The text shown once: `ABCD-EFGH-…`, 14 groups of 4 characters. */
export async function formatRecoveryKey(secret: Uint8Array): Promise<string> {
  checkSecret(secret);
  const chars = base32(concat(secret, await checksum(secret)));
  return chars.match(new RegExp(`.{${GROUP}}`, 'g'))!.join('-');
}

/**
 * Reads a recovery key as a person typed it: case, spaces and dashes do not matter, and the digits
 * 0, 1 and 8 (absent from the alphabet) are read as the letters O, I and B they are mistaken for.
 */
export async function parseRecoveryKey(text: string): Promise<Uint8Array> {
  const chars = text.toUpperCase().replace(/[\s-]/g, '').replace(/0/g, 'O').replace(/1/g, 'I').replace(/8/g, 'B');
  if (chars.length !== RECOVERY_KEY_CHARACTERS || ![...chars].every((c) => ALPHABET.includes(c))) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_RECOVERY_KEY_INVALID', `a recovery key is ${RECOVERY_KEY_CHARACTERS} characters of A-Z and 2-7`);
  }
  const bytes = fromBase32(chars);
  const secret = bytes.slice(0, RECOVERY_SECRET_LENGTH);
  if (!constantTimeEqual(bytes.subarray(RECOVERY_SECRET_LENGTH), await checksum(secret))) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_RECOVERY_KEY_CHECKSUM', 'this recovery key has a typo: its checksum does not match');
  }
  return secret;
}

async function hkdf(secret: Uint8Array, info: Uint8Array): Promise<Uint8Array> {
  const ikm = await crypto.subtle.importKey('raw', bs(secret), 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: bs(info) }, ikm, 256));
}

/** The keys of a recovery secret; the same secret always gives the same keys. */
export async function deriveRecoveryKeys(secret: Uint8Array): Promise<RecoveryKeys> {
  checkSecret(secret);
  const hpkeSeed = await hkdf(secret, HPKE_INFO);
  const hpkePair = await hpke.kem.deriveKeyPair(bs(hpkeSeed));
  hpkeSeed.fill(0);
  for (let counter = 0; counter < 256; counter++) {
    const d = await hkdf(secret, concat(SIGNING_INFO, new Uint8Array([counter])));
    try {
      // Out of range with probability about 2^-32: draw again with the next counter.
      if (!isP256Scalar(d)) continue;
      const signing = await importSigningKeyPair(d);
      return {
        hpke: hpkePair,
        signing,
        hpkePublicKey: await exportPublicKey(hpkePair.publicKey),
        signingPublicKey: await exportSigningPublicKey(signing.publicKey),
      };
    } finally {
      d.fill(0);
    }
  }
  throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'no valid signing scalar in 256 draws');
}
