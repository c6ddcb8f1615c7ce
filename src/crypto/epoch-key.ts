/**
 * Institution epoch key pairs (docs/SPEC.md §4): generation, serialization and fingerprints.
 * Public keys travel as their 65-byte uncompressed P-256 point; private keys as their 32-byte scalar,
 * and only ever inside a passphrase-protected key file (key-file.ts) or a wrapped grant.
 */
import { bs, constantTimeEqual, fromBase64Url, toHex } from './bytes.js';
import { ExamVaultCryptoError } from './errors.js';
import { hpke } from './hpke.js';

export const PUBLIC_KEY_LENGTH = 65;
export const PRIVATE_KEY_LENGTH = 32;

export interface EpochKeyPair {
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
}

export async function generateEpochKeyPair(): Promise<EpochKeyPair> {
  const { publicKey, privateKey } = await hpke.kem.generateKeyPair();
  return { publicKey, privateKey };
}

export async function exportPublicKey(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await hpke.kem.serializePublicKey(key));
}

/**
 * Imports a 65-byte uncompressed P-256 point with `importer` (HPKE or ECDSA); anything else, or a
 * point not on the curve, is EV_ERR_CRYPTO_INVALID_KEY.
 */
export async function importPoint(raw: Uint8Array, what: string, importer: (raw: Uint8Array) => Promise<CryptoKey>): Promise<CryptoKey> {
  if (raw.length !== PUBLIC_KEY_LENGTH || raw[0] !== 0x04) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', `${what} is a 65-byte uncompressed P-256 point`);
  }
  try {
    return await importer(raw);
  } catch {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'not a valid P-256 public key');
  }
}

/** The bytes of a public key's base64url text form. */
export function publicKeyTextBytes(text: string): Uint8Array {
  const raw = fromBase64Url(text.trim());
  if (!raw) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'a public key is unpadded base64url');
  return raw;
}

export async function importPublicKey(raw: Uint8Array): Promise<CryptoKey> {
  return importPoint(raw, 'an epoch public key', (b) => hpke.kem.deserializePublicKey(bs(b)));
}

/** Parses the base64url text form of a public key. */
export async function importPublicKeyText(text: string): Promise<CryptoKey> {
  return importPublicKey(publicKeyTextBytes(text));
}

export async function exportPrivateKey(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await hpke.kem.serializePrivateKey(key));
}

export async function importPrivateKey(scalar: Uint8Array): Promise<CryptoKey> {
  if (scalar.length !== PRIVATE_KEY_LENGTH) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'an epoch private key is a 32-byte P-256 scalar');
  }
  try {
    return await hpke.kem.deserializePrivateKey(scalar);
  } catch {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'not a valid P-256 private key');
  }
}

/** The public key that belongs to a private key, read from its JWK form (x, y). */
export async function publicKeyOf(privateKey: CryptoKey): Promise<Uint8Array> {
  const jwk = await crypto.subtle.exportKey('jwk', privateKey);
  const x = fromBase64Url(jwk.x ?? '');
  const y = fromBase64Url(jwk.y ?? '');
  if (!x || !y || x.length !== 32 || y.length !== 32) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'private key has no P-256 public point');
  }
  const out = new Uint8Array(PUBLIC_KEY_LENGTH);
  out[0] = 0x04;
  out.set(x, 1);
  out.set(y, 33);
  return out;
}

export async function keyPairMatches(privateKey: CryptoKey, publicKey: Uint8Array): Promise<boolean> {
  return constantTimeEqual(await publicKeyOf(privateKey), publicKey);
}

/** Lowercase hex SHA-256 of the 65-byte public key (docs/SPEC.md §9). */
export async function fingerprint(publicKey: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bs(publicKey))));
}
