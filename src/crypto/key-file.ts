/**
 * Passphrase-protected private key files (docs/SPEC.md §9): PBKDF2-HMAC-SHA256 then AES-256-GCM.
 *
 * The reader enforces its own minimum work factor and never lowers it for what a file (or a server)
 * says: a file asking for fewer than 600,000 iterations is refused, not obeyed (passphrase.ts).
 */
import { bs, concat, randomBytes, toBase64Url, u32, utf8 } from './bytes.js';
import { exportPrivateKey, exportPublicKey, importPrivateKey, importPublicKey, keyPairMatches } from './epoch-key.js';
import { DecryptionFailedError } from './errors.js';
import { type JsonObject, JsonFields } from './json-fields.js';
import { MIN_PBKDF2_ITERATIONS, MIN_SALT_LENGTH, checkPbkdf2Parameters, derivePassphraseAesKey } from './passphrase.js';

export { MIN_PBKDF2_ITERATIONS, MAX_PBKDF2_ITERATIONS, MIN_SALT_LENGTH, MIN_MEMBER_PASSPHRASE_LENGTH, passphraseLength } from './passphrase.js';
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

function keyFileAad(publicKey: Uint8Array, iterations: number, salt: Uint8Array): Uint8Array {
  return concat(AAD_LABEL, publicKey, u32(iterations), salt);
}

export async function protectPrivateKey(
  privateKey: CryptoKey,
  publicKey: CryptoKey,
  passphrase: string,
  iterations = MIN_PBKDF2_ITERATIONS,
): Promise<PrivateKeyFile> {
  const salt = randomBytes(MIN_SALT_LENGTH);
  checkPbkdf2Parameters(iterations, salt, 'EV_ERR_KEYFILE_WEAK_KDF');
  const iv = randomBytes(12);
  const pub = await exportPublicKey(publicKey);
  const scalar = await exportPrivateKey(privateKey);
  const key = await derivePassphraseAesKey(passphrase, salt, iterations);
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

const fields = new JsonFields('EV_ERR_KEYFILE_MALFORMED', 'key file');
const malformed = (why: string) => fields.fail(why);
const bytesField = (obj: JsonObject, name: string) => fields.bytes(obj, name);
const asObject = (v: unknown, what: string) => fields.object(v, what);

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
  const salt = bytesField(kdf, 'salt');
  checkPbkdf2Parameters(iterations, salt, 'EV_ERR_KEYFILE_WEAK_KDF');
  const pub = bytesField(f, 'publicKey');
  await importPublicKey(pub);
  const iv = bytesField(f, 'iv');
  if (iv.length !== 12) throw malformed('iv must be 12 bytes');
  const ciphertext = bytesField(f, 'ciphertext');

  const key = await derivePassphraseAesKey(passphrase, salt, iterations);
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
