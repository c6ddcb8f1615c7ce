/**
 * ECDSA P-256 signing keys of institution staff and of the recovery key (docs/KEY-CUSTODY.md §3).
 *
 * Public keys travel as the 65-byte uncompressed point, like epoch keys; private keys as the 32-byte
 * scalar, and only inside a wrapped key. Signatures are what WebCrypto produces and checks: IEEE P1363
 * `r ‖ s`, 32 bytes each, over SHA-256 of the message (never DER).
 */
import { bs } from '../bytes.js';
import { importPoint, importPrivateKey, publicKeyTextBytes, PRIVATE_KEY_LENGTH } from '../epoch-key.js';
import { ExamVaultCryptoError } from '../errors.js';

export const SIGNATURE_LENGTH = 64;
const ECDSA_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** The order n of the P-256 group, big-endian: a private scalar d must satisfy 1 ≤ d < n. */
const P256_ORDER = Uint8Array.of(
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
  0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
);

/** Whether 32 big-endian bytes are a valid P-256 private scalar (1 ≤ d < n). */
export function isP256Scalar(d: Uint8Array): boolean {
  if (d.length !== PRIVATE_KEY_LENGTH || d.every((b) => b === 0)) return false;
  for (let i = 0; i < d.length; i++) {
    const a = d[i] as number;
    const n = P256_ORDER[i] as number;
    if (a !== n) return a < n;
  }
  return false; // d = n
}

export async function generateSigningKeyPair(): Promise<CryptoKeyPair> {
  // Extractable so that the client can wrap it (wrapped-key.ts); it is never exported otherwise.
  return crypto.subtle.generateKey(ECDSA_KEY, true, ['sign', 'verify']);
}

export async function exportSigningPublicKey(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey('raw', key));
}

export async function importSigningPublicKey(raw: Uint8Array): Promise<CryptoKey> {
  return importPoint(raw, 'a signing public key', (b) => crypto.subtle.importKey('raw', bs(b), ECDSA_KEY, true, ['verify']));
}

/** Parses the base64url text form of a signing public key. */
export async function importSigningPublicKeyText(text: string): Promise<CryptoKey> {
  return importSigningPublicKey(publicKeyTextBytes(text));
}

/**
 * An ECDSA private key from its 32-byte scalar. WebCrypto imports an EC private key only with its
 * public point (JWK) or as PKCS#8; the HPKE library already imports a bare scalar as PKCS#8 (as ECDH),
 * so the point is read from that key and the pair re-imported for ECDSA. No curve arithmetic here.
 */
export async function importSigningKeyPair(scalar: Uint8Array, extractable = false): Promise<CryptoKeyPair> {
  if (!isP256Scalar(scalar)) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', 'a signing private key is a P-256 scalar 1..n-1');
  const ecdh = await importPrivateKey(scalar);
  const { kty, crv, x, y, d } = await crypto.subtle.exportKey('jwk', ecdh);
  return {
    privateKey: await crypto.subtle.importKey('jwk', { kty, crv, x, y, d }, ECDSA_KEY, extractable, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', { kty, crv, x, y }, ECDSA_KEY, true, ['verify']),
  };
}

export async function importSigningPrivateKey(scalar: Uint8Array, extractable = false): Promise<CryptoKey> {
  return (await importSigningKeyPair(scalar, extractable)).privateKey;
}

export async function sign(privateKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(ECDSA_SIGN, privateKey, bs(message)));
}

/** False for a signature that does not verify, including one that is not 64 bytes. */
export async function verifySignature(publicKey: CryptoKey, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  if (signature.length !== SIGNATURE_LENGTH) return false;
  try {
    return await crypto.subtle.verify(ECDSA_SIGN, publicKey, bs(signature), bs(message));
  } catch {
    return false;
  }
}
