/**
 * Passphrase-protected private key files (docs/SPEC.md §9): PBKDF2-HMAC-SHA256 then AES-256-GCM.
 *
 * The reader enforces its own minimum work factor and never lowers it for what a file (or a server)
 * says: a file asking for fewer than 600,000 iterations is refused, not obeyed.
 */
import { bs, concat, fromBase64Url, randomBytes, toBase64Url, u32, utf8 } from './bytes.js';
import { exportPrivateKey, exportPublicKey, importPrivateKey, importPublicKey, keyPairMatches } from './epoch-key.js';
import { DecryptionFailedError, ExamVaultCryptoError } from './errors.js';

export const MIN_PBKDF2_ITERATIONS = 600_000;
export const MAX_PBKDF2_ITERATIONS = 10_000_000;
export const MIN_SALT_LENGTH = 16;
const AAD_LABEL = utf8('examvault-private-key/v1');

export interface PrivateKeyFile {
  readonly format: 'examvault-private-key';
  readonly version: 1;
  readonly publicKey: string;
  readonly kdf: { readonly name: 'PBKDF2-HMAC-SHA256'; readonly iterations: number; readonly salt: string };
  readonly cipher: 'AES-256-GCM';
  readonly iv: string;
  readonly ciphertext: string;
}

export interface PublicKeyFile {
  readonly format: 'examvault-public-key';
  readonly version: 1;
  readonly publicKey: string;
}

async function passphraseKey(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  if (passphrase.length === 0) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'the passphrase is empty');
  const material = await crypto.subtle.importKey('raw', bs(utf8(passphrase.normalize('NFC'))), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt: bs(salt), iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

function keyFileAad(publicKey: Uint8Array, iterations: number, salt: Uint8Array): Uint8Array {
  return concat(AAD_LABEL, publicKey, u32(iterations), salt);
}

export async function protectPrivateKey(
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  passphrase: string,
  iterations = MIN_PBKDF2_ITERATIONS,
): Promise<PrivateKeyFile> {
  if (!Number.isInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new ExamVaultCryptoError('EV_ERR_KEYFILE_WEAK_KDF', `iterations must be ${MIN_PBKDF2_ITERATIONS}..${MAX_PBKDF2_ITERATIONS}`);
  }
  const salt = randomBytes(MIN_SALT_LENGTH);
  const iv = randomBytes(12);
  const pub = await exportPublicKey(publicKey);
  const scalar = await exportPrivateKey(privateKey);
  const key = await passphraseKey(passphrase, salt, iterations);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: bs(iv), additionalData: bs(keyFileAad(pub, iterations, salt)) }, key, bs(scalar)),
  );
  scalar.fill(0);
  return {
    format: 'examvault-private-key',
    version: 1,
    publicKey: toBase64Url(pub),
    kdf: { name: 'PBKDF2-HMAC-SHA256', iterations, salt: toBase64Url(salt) },
    cipher: 'AES-256-GCM',
    iv: toBase64Url(iv),
    ciphertext: toBase64Url(ciphertext),
  };
}

function malformed(why: string): ExamVaultCryptoError {
  return new ExamVaultCryptoError('EV_ERR_KEYFILE_MALFORMED', `malformed key file: ${why}`);
}

function field(obj: Record<string, unknown>, name: string): string {
  const v = obj[name];
  if (typeof v !== 'string') throw malformed(`${name} must be a string`);
  return v;
}

function bytesField(obj: Record<string, unknown>, name: string): Uint8Array {
  const b = fromBase64Url(field(obj, name));
  if (!b) throw malformed(`${name} must be base64url`);
  return b;
}

function asObject(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(`${what} must be an object`);
  return v as Record<string, unknown>;
}

export interface UnlockedKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: Uint8Array;
}

/** Decrypts a private key file. A wrong passphrase is the opaque DecryptionFailedError. */
export async function unlockPrivateKey(file: unknown, passphrase: string): Promise<UnlockedKeyPair> {
  const f = asObject(file, 'the key file');
  if (f.format !== 'examvault-private-key') throw malformed('not an ExamVault private key file');
  if (f.version !== 1) throw malformed(`unsupported version ${String(f.version)}`);
  if (f.cipher !== 'AES-256-GCM') throw malformed('cipher must be AES-256-GCM');
  const kdf = asObject(f.kdf, 'kdf');
  if (kdf.name !== 'PBKDF2-HMAC-SHA256') throw malformed('kdf must be PBKDF2-HMAC-SHA256');
  const iterations = kdf.iterations;
  if (typeof iterations !== 'number' || !Number.isInteger(iterations)) throw malformed('iterations must be an integer');
  if (iterations < MIN_PBKDF2_ITERATIONS || iterations > MAX_PBKDF2_ITERATIONS) {
    throw new ExamVaultCryptoError('EV_ERR_KEYFILE_WEAK_KDF', `refusing ${iterations} PBKDF2 iterations: this client requires ${MIN_PBKDF2_ITERATIONS}..${MAX_PBKDF2_ITERATIONS}`);
  }
  const salt = bytesField(kdf, 'salt');
  if (salt.length < MIN_SALT_LENGTH) throw new ExamVaultCryptoError('EV_ERR_KEYFILE_WEAK_KDF', `the salt must be at least ${MIN_SALT_LENGTH} bytes`);
  const pub = bytesField(f, 'publicKey');
  await importPublicKey(pub);
  const iv = bytesField(f, 'iv');
  if (iv.length !== 12) throw malformed('iv must be 12 bytes');
  const ciphertext = bytesField(f, 'ciphertext');

  const key = await passphraseKey(passphrase, salt, iterations);
  let scalar: Uint8Array;
  try {
    scalar = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bs(iv), additionalData: bs(keyFileAad(pub, iterations, salt)) }, key, bs(ciphertext)),
    );
  } catch {
    throw new DecryptionFailedError();
  }
  try {
    const privateKey = await importPrivateKey(scalar);
    if (!(await keyPairMatches(privateKey, pub))) throw malformed('the private key does not match its public key');
    return { privateKey, publicKey: pub };
  } finally {
    scalar.fill(0);
  }
}

export async function publicKeyFile(publicKey: CryptoKey): Promise<PublicKeyFile> {
  return { format: 'examvault-public-key', version: 1, publicKey: toBase64Url(await exportPublicKey(publicKey)) };
}

/** Reads a public key file, returning the key and its raw bytes. */
export async function readPublicKeyFile(file: unknown): Promise<{ key: CryptoKey; raw: Uint8Array }> {
  const f = asObject(file, 'the public key file');
  if (f.format !== 'examvault-public-key') throw malformed('not an ExamVault public key file');
  if (f.version !== 1) throw malformed(`unsupported version ${String(f.version)}`);
  const raw = bytesField(f, 'publicKey');
  return { key: await importPublicKey(raw), raw };
}
