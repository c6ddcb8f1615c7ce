/**
 * Private keys wrapped for storage on the server (docs/KEY-CUSTODY.md §5).
 *
 * A wrapped key is a JSON document holding one private scalar encrypted once per *wrapping*: by a
 * passphrase (PBKDF2-HMAC-SHA256, then AES-256-GCM) and/or by the PRF output of a passkey (WebAuthn
 * `prf` extension; HKDF-SHA256, then AES-256-GCM). Each ciphertext's associated data binds the key's
 * purpose, institution, owner, epoch and public key, so a server cannot hand a client another key (or
 * another person's key) in place of the one it asked for: the client states what it expects, the
 * associated data is built from that statement, and anything else fails to decrypt.
 *
 * The server never learns the scalar. The client enforces its own PBKDF2 bounds (passphrase.ts) and
 * refuses a document whose parameters fall outside them.
 */
import { bs, concat, constantTimeEqual, randomBytes, str8, toBase64Url, u16, u32, utf8 } from '../bytes.js';
import { exportPrivateKey, importPrivateKey, keyPairMatches, PUBLIC_KEY_LENGTH, publicKeyOf } from '../epoch-key.js';
import { DecryptionFailedError, ExamVaultCryptoError } from '../errors.js';
import { JsonFields } from '../json-fields.js';
import { MIN_PBKDF2_ITERATIONS, MIN_SALT_LENGTH, checkPbkdf2Parameters, derivePassphraseAesKey } from '../passphrase.js';
import { checkEpoch, checkId } from './ids.js';
import { importSigningPrivateKey } from './signing-key.js';

export const keyPurposes = ['reviewer-hpke', 'reviewer-signing', 'admin-hpke', 'admin-signing', 'epoch'] as const;
export type KeyPurpose = (typeof keyPurposes)[number];

export const MAX_PASSPHRASE_SALT_LENGTH = 64;
export const PRF_OUTPUT_LENGTH = 32;
export const PRF_INPUT_LENGTH = 32;
export const PRF_SALT_LENGTH = 32;
export const MAX_CREDENTIAL_ID_LENGTH = 1023;
export const MAX_WRAPPINGS = 8;
const IV_LENGTH = 12;
const WRAPPED_SCALAR_LENGTH = 32 + 16;
const AAD_LABEL = utf8('examvault/v1/wrapped-key');
const PRF_INFO = utf8('examvault/v1/prf-wrap');
const METHOD_PASSPHRASE = 1;
const METHOD_PRF = 2;

/** What a wrapped key is: checked on unwrap against what the client expects, and bound by the AAD. */
export interface KeyBinding {
  readonly purpose: KeyPurpose;
  readonly institution: string;
  /** The member whose key this is; for `epoch`, the member whose passphrase or passkey protects it. */
  readonly owner: string;
  /** For `epoch` keys, the epoch (≥ 1); omitted (or 0) for every other purpose. */
  readonly epoch?: number;
}

export interface PassphraseWrapping {
  readonly method: 'passphrase';
  readonly kdf: { readonly name: 'PBKDF2-HMAC-SHA256'; readonly iterations: number; readonly salt: string };
  readonly cipher: 'AES-256-GCM';
  readonly iv: string;
  readonly ciphertext: string;
}

export interface PrfWrapping {
  readonly method: 'webauthn-prf';
  readonly credentialId: string;
  readonly prfInput: string;
  readonly kdf: { readonly name: 'HKDF-SHA256'; readonly salt: string };
  readonly cipher: 'AES-256-GCM';
  readonly iv: string;
  readonly ciphertext: string;
}

export type KeyWrapping = PassphraseWrapping | PrfWrapping;

export interface WrappedPrivateKey {
  readonly format: 'examvault-wrapped-key';
  readonly version: 1;
  readonly purpose: KeyPurpose;
  readonly institution: string;
  readonly owner: string;
  readonly epoch: number;
  readonly publicKey: string;
  readonly wrappings: readonly KeyWrapping[];
}

/** A passphrase already stretched: derive once, then wrap or unwrap several keys that share its salt. */
export interface PassphraseKey {
  readonly iterations: number;
  readonly salt: Uint8Array;
  readonly key: CryptoKey;
}

/** What a passkey's PRF extension returned for one credential and one input. */
export interface PrfResult {
  readonly credentialId: Uint8Array;
  /** The input given to the authenticator (`prf.eval.first`); random, 32 bytes, stored in the wrapping. */
  readonly prfInput: Uint8Array;
  /** `prf.results.first`: 32 bytes. */
  readonly output: Uint8Array;
}

/** How to protect a key: each protector adds one wrapping. */
export type Protector =
  | { readonly passphrase: string; readonly iterations?: number }
  | { readonly passphraseKey: PassphraseKey }
  | { readonly prf: PrfResult };

/** How to unlock a key: picks the matching wrapping. */
export type Unlock =
  | { readonly passphrase: string }
  | { readonly passphraseKey: PassphraseKey }
  | { readonly prf: Omit<PrfResult, 'prfInput'> };

export interface UnwrappedKey {
  /** An HPKE (ECDH) key for `*-hpke` and `epoch`; an ECDSA signing key for `*-signing`. */
  readonly privateKey: CryptoKey;
  readonly publicKey: Uint8Array;
}

interface ParsedPassphrase {
  readonly method: 'passphrase';
  readonly iterations: number;
  readonly salt: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

interface ParsedPrf {
  readonly method: 'webauthn-prf';
  readonly credentialId: Uint8Array;
  readonly prfInput: Uint8Array;
  readonly salt: Uint8Array;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
}

type ParsedWrapping = ParsedPassphrase | ParsedPrf;
/** A wrapping's parameters: everything its AAD covers besides the binding. */
type WrappingParams = Omit<ParsedPassphrase, 'iv' | 'ciphertext'> | Omit<ParsedPrf, 'iv' | 'ciphertext'>;

interface Binding {
  readonly purpose: KeyPurpose;
  readonly institution: string;
  readonly owner: string;
  readonly epoch: number;
}

interface Parsed extends Binding {
  readonly publicKey: Uint8Array;
  readonly wrappings: readonly ParsedWrapping[];
}

const json = new JsonFields('EV_ERR_CUSTODY_MALFORMED', 'wrapped key');

export function isSigningPurpose(purpose: KeyPurpose): boolean {
  return purpose === 'reviewer-signing' || purpose === 'admin-signing';
}

function checkBinding(b: KeyBinding, code: 'EV_ERR_CRYPTO_INVALID_ARGUMENT' | 'EV_ERR_CUSTODY_MALFORMED' = 'EV_ERR_CRYPTO_INVALID_ARGUMENT'): Binding {
  if (!keyPurposes.includes(b.purpose)) throw new ExamVaultCryptoError(code, `purpose must be one of ${keyPurposes.join(', ')}`);
  const epoch = b.purpose === 'epoch' ? checkEpoch(b.epoch, code) : (b.epoch ?? 0);
  if (epoch !== 0 && b.purpose !== 'epoch') throw new ExamVaultCryptoError(code, 'only epoch keys carry an epoch');
  return { purpose: b.purpose, institution: checkId('institution', b.institution, code), owner: checkId('owner', b.owner, code), epoch };
}

function wrappingAad(b: Binding, publicKey: Uint8Array, w: WrappingParams): Uint8Array {
  const method = w.method === 'passphrase'
    ? concat(new Uint8Array([METHOD_PASSPHRASE]), u32(w.iterations), str8Bytes(w.salt))
    : concat(new Uint8Array([METHOD_PRF]), u16(w.credentialId.length), w.credentialId, w.prfInput, w.salt);
  return concat(AAD_LABEL, str8(b.purpose), str8(b.institution), str8(b.owner), u32(b.epoch), publicKey, method);
}

function str8Bytes(b: Uint8Array): Uint8Array {
  return concat(new Uint8Array([b.length]), b);
}

export async function derivePassphraseKey(passphrase: string, params: { readonly iterations?: number; readonly salt?: Uint8Array } = {}): Promise<PassphraseKey> {
  const iterations = params.iterations ?? MIN_PBKDF2_ITERATIONS;
  const salt = params.salt ?? randomBytes(MIN_SALT_LENGTH);
  checkPbkdf2Parameters(iterations, salt, 'EV_ERR_CUSTODY_WEAK_KDF');
  if (salt.length > MAX_PASSPHRASE_SALT_LENGTH) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_WEAK_KDF', `the salt must be at most ${MAX_PASSPHRASE_SALT_LENGTH} bytes`);
  return { iterations, salt: salt.slice(), key: await derivePassphraseAesKey(passphrase, salt, iterations) };
}

async function prfAesKey(output: Uint8Array, salt: Uint8Array): Promise<CryptoKey> {
  if (output.length !== PRF_OUTPUT_LENGTH) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `a PRF output is ${PRF_OUTPUT_LENGTH} bytes`);
  const ikm = await crypto.subtle.importKey('raw', bs(output), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: bs(salt), info: bs(PRF_INFO) }, ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

async function makeWrapping(scalar: Uint8Array, b: Binding, publicKey: Uint8Array, protector: Protector): Promise<ParsedWrapping> {
  let key: CryptoKey;
  let params: WrappingParams;
  if ('prf' in protector) {
    const { credentialId, prfInput, output } = protector.prf;
    if (credentialId.length < 1 || credentialId.length > MAX_CREDENTIAL_ID_LENGTH || prfInput.length !== PRF_INPUT_LENGTH) {
      throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `a credential id is 1..${MAX_CREDENTIAL_ID_LENGTH} bytes and a PRF input ${PRF_INPUT_LENGTH}`);
    }
    const salt = randomBytes(PRF_SALT_LENGTH);
    key = await prfAesKey(output, salt);
    params = { method: 'webauthn-prf', credentialId: credentialId.slice(), prfInput: prfInput.slice(), salt };
  } else {
    const pk = 'passphraseKey' in protector ? protector.passphraseKey : await derivePassphraseKey(protector.passphrase, { ...(protector.iterations ? { iterations: protector.iterations } : {}) });
    // A caller-made PassphraseKey is held to the same bounds as a served one.
    checkPbkdf2Parameters(pk.iterations, pk.salt, 'EV_ERR_CUSTODY_WEAK_KDF');
    key = pk.key;
    params = { method: 'passphrase', iterations: pk.iterations, salt: pk.salt };
  }
  const iv = randomBytes(IV_LENGTH);
  const aad = wrappingAad(b, publicKey, params);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: bs(iv), additionalData: bs(aad) }, key, bs(scalar)));
  return { ...params, iv, ciphertext } as ParsedWrapping;
}

function checkWrappingSet(wrappings: readonly ParsedWrapping[], code: 'EV_ERR_CRYPTO_INVALID_ARGUMENT' | 'EV_ERR_CUSTODY_MALFORMED'): void {
  const fail = (why: string) => new ExamVaultCryptoError(code, code === 'EV_ERR_CUSTODY_MALFORMED' ? `malformed wrapped key: ${why}` : why);
  if (wrappings.length < 1 || wrappings.length > MAX_WRAPPINGS) throw fail(`a wrapped key has 1..${MAX_WRAPPINGS} wrappings`);
  if (wrappings.filter((w) => w.method === 'passphrase').length > 1) throw fail('a wrapped key has at most one passphrase wrapping');
  const ids = wrappings.flatMap((w) => (w.method === 'webauthn-prf' ? [toBase64Url(w.credentialId)] : []));
  if (new Set(ids).size !== ids.length) throw fail('two wrappings name the same credential');
}

function toJson(p: Parsed): WrappedPrivateKey {
  return {
    format: 'examvault-wrapped-key',
    version: 1,
    purpose: p.purpose,
    institution: p.institution,
    owner: p.owner,
    epoch: p.epoch,
    publicKey: toBase64Url(p.publicKey),
    wrappings: p.wrappings.map((w): KeyWrapping => w.method === 'passphrase'
      ? {
        method: 'passphrase',
        kdf: { name: 'PBKDF2-HMAC-SHA256', iterations: w.iterations, salt: toBase64Url(w.salt) },
        cipher: 'AES-256-GCM',
        iv: toBase64Url(w.iv),
        ciphertext: toBase64Url(w.ciphertext),
      }
      : {
        method: 'webauthn-prf',
        credentialId: toBase64Url(w.credentialId),
        prfInput: toBase64Url(w.prfInput),
        kdf: { name: 'HKDF-SHA256', salt: toBase64Url(w.salt) },
        cipher: 'AES-256-GCM',
        iv: toBase64Url(w.iv),
        ciphertext: toBase64Url(w.ciphertext),
      }),
  };
}

function parseWrapping(v: unknown): ParsedWrapping {
  const w = json.object(v, 'a wrapping');
  json.constant(w, 'cipher', 'AES-256-GCM');
  const kdf = json.object(w.kdf, 'kdf');
  const iv = json.bytes(w, 'iv', IV_LENGTH);
  const ciphertext = json.bytes(w, 'ciphertext', WRAPPED_SCALAR_LENGTH);
  if (w.method === 'passphrase') {
    json.onlyFields(w, ['method', 'kdf', 'cipher', 'iv', 'ciphertext'], 'a passphrase wrapping');
    json.onlyFields(kdf, ['name', 'iterations', 'salt'], 'kdf');
    json.constant(kdf, 'name', 'PBKDF2-HMAC-SHA256');
    const iterations = json.integer(kdf, 'iterations', 1, 0xffffffff);
    const salt = json.bytes(kdf, 'salt', [1, 255]);
    checkPbkdf2Parameters(iterations, salt, 'EV_ERR_CUSTODY_WEAK_KDF');
    if (salt.length > MAX_PASSPHRASE_SALT_LENGTH) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_WEAK_KDF', `the salt must be at most ${MAX_PASSPHRASE_SALT_LENGTH} bytes`);
    return { method: 'passphrase', iterations, salt, iv, ciphertext };
  }
  if (w.method === 'webauthn-prf') {
    json.onlyFields(w, ['method', 'credentialId', 'prfInput', 'kdf', 'cipher', 'iv', 'ciphertext'], 'a PRF wrapping');
    json.onlyFields(kdf, ['name', 'salt'], 'kdf');
    json.constant(kdf, 'name', 'HKDF-SHA256');
    return {
      method: 'webauthn-prf',
      credentialId: json.bytes(w, 'credentialId', [1, MAX_CREDENTIAL_ID_LENGTH]),
      prfInput: json.bytes(w, 'prfInput', PRF_INPUT_LENGTH),
      salt: json.bytes(kdf, 'salt', PRF_SALT_LENGTH),
      iv,
      ciphertext,
    };
  }
  throw json.fail('method must be "passphrase" or "webauthn-prf"');
}

function parse(doc: unknown): Parsed {
  const d = json.object(doc, 'the wrapped key');
  json.onlyFields(d, ['format', 'version', 'purpose', 'institution', 'owner', 'epoch', 'publicKey', 'wrappings'], 'the wrapped key');
  json.constant(d, 'format', 'examvault-wrapped-key');
  json.constant(d, 'version', 1);
  const binding = checkBinding({
    purpose: json.string(d, 'purpose') as KeyPurpose,
    institution: json.string(d, 'institution'),
    owner: json.string(d, 'owner'),
    epoch: json.integer(d, 'epoch', 0, 0xffffffff),
  }, 'EV_ERR_CUSTODY_MALFORMED');
  const publicKey = json.bytes(d, 'publicKey', PUBLIC_KEY_LENGTH);
  if (publicKey[0] !== 0x04) throw json.fail('publicKey must be an uncompressed point');
  if (!Array.isArray(d.wrappings)) throw json.fail('wrappings must be an array');
  const wrappings = (d.wrappings as unknown[]).map(parseWrapping);
  checkWrappingSet(wrappings, 'EV_ERR_CUSTODY_MALFORMED');
  return { ...binding, publicKey, wrappings };
}

/** Wraps a private key under one or more protectors. The key must be extractable (freshly generated). */
export async function wrapPrivateKey(privateKey: CryptoKey, binding: KeyBinding, protectors: readonly Protector[]): Promise<WrappedPrivateKey> {
  const b = checkBinding(binding);
  const algorithm = isSigningPurpose(b.purpose) ? 'ECDSA' : 'ECDH';
  if (privateKey.algorithm.name !== algorithm) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_KEY', `a ${b.purpose} key is an ${algorithm} P-256 private key`);
  }
  const scalar = await exportPrivateKey(privateKey);
  try {
    const publicKey = await publicKeyOf(privateKey);
    const wrappings: ParsedWrapping[] = [];
    for (const p of protectors) wrappings.push(await makeWrapping(scalar, b, publicKey, p));
    checkWrappingSet(wrappings, 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    return toJson({ ...b, publicKey, wrappings });
  } finally {
    scalar.fill(0);
  }
}

/** The PBKDF2 parameters of a wrapped key's passphrase wrapping (checked), or null when it has none. */
export function passphraseParameters(doc: unknown): { readonly iterations: number; readonly salt: Uint8Array } | null {
  const w = parse(doc).wrappings.find((x): x is ParsedPassphrase => x.method === 'passphrase');
  return w ? { iterations: w.iterations, salt: w.salt } : null;
}

/** The passkeys that can unlock a wrapped key, with the PRF input each must be asked for. */
export function prfCredentials(doc: unknown): { readonly credentialId: Uint8Array; readonly prfInput: Uint8Array }[] {
  return parse(doc).wrappings.flatMap((w) => (w.method === 'webauthn-prf' ? [{ credentialId: w.credentialId, prfInput: w.prfInput }] : []));
}

function checkExpected(p: Parsed, expected: KeyBinding & { readonly publicKey?: Uint8Array }): Binding {
  const e = checkBinding(expected);
  const differs = (['purpose', 'institution', 'owner', 'epoch'] as const).find((k) => p[k] !== e[k]);
  if (differs) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_BINDING_MISMATCH', `the wrapped key's ${differs} is not the one expected`);
  if (expected.publicKey && !constantTimeEqual(expected.publicKey, p.publicKey)) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_BINDING_MISMATCH', "the wrapped key's publicKey is not the one expected");
  }
  return e;
}

/** Decrypts the scalar. The AAD is built from `b`, the client's expectation, not from the document. */
async function openScalar(p: Parsed, b: Binding, unlock: Unlock): Promise<Uint8Array> {
  let wrapping: ParsedWrapping | undefined;
  let key: CryptoKey;
  if ('prf' in unlock) {
    wrapping = p.wrappings.find((w) => w.method === 'webauthn-prf' && constantTimeEqual(w.credentialId, unlock.prf.credentialId));
    if (!wrapping) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_NO_WRAPPING', 'no wrapping for this passkey');
    key = await prfAesKey(unlock.prf.output, wrapping.salt);
  } else {
    const w = p.wrappings.find((x): x is ParsedPassphrase => x.method === 'passphrase');
    if (!w) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_NO_WRAPPING', 'no passphrase wrapping');
    wrapping = w;
    if ('passphraseKey' in unlock) {
      if (unlock.passphraseKey.iterations !== w.iterations || !constantTimeEqual(unlock.passphraseKey.salt, w.salt)) {
        throw new ExamVaultCryptoError('EV_ERR_CUSTODY_NO_WRAPPING', 'no passphrase wrapping with these PBKDF2 parameters');
      }
      key = unlock.passphraseKey.key;
    } else {
      key = await derivePassphraseAesKey(unlock.passphrase, w.salt, w.iterations);
    }
  }
  try {
    const aad = wrappingAad(b, p.publicKey, wrapping);
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bs(wrapping.iv), additionalData: bs(aad) }, key, bs(wrapping.ciphertext)));
  } catch {
    throw new DecryptionFailedError();
  }
}

async function importScalar(scalar: Uint8Array, purpose: KeyPurpose, publicKey: Uint8Array): Promise<CryptoKey> {
  const ecdh = await importPrivateKey(scalar).catch(() => null);
  if (!ecdh || !(await keyPairMatches(ecdh, publicKey))) throw json.fail('the private key does not match its public key');
  return isSigningPurpose(purpose) ? importSigningPrivateKey(scalar) : ecdh;
}

/**
 * Unwraps a key served to the client. `expected` says which key the client asked for; a document for
 * any other purpose, institution, owner, epoch (or public key, when given) is refused with
 * EV_ERR_CUSTODY_BINDING_MISMATCH, and a wrong passphrase or PRF output is the opaque
 * EV_ERR_CRYPTO_DECRYPTION_FAILED.
 */
export async function unwrapPrivateKey(doc: unknown, expected: KeyBinding & { readonly publicKey?: Uint8Array }, unlock: Unlock): Promise<UnwrappedKey> {
  const p = parse(doc);
  const b = checkExpected(p, expected);
  const scalar = await openScalar(p, b, unlock);
  try {
    return { privateKey: await importScalar(scalar, b.purpose, p.publicKey), publicKey: p.publicKey };
  } finally {
    scalar.fill(0);
  }
}

/**
 * Adds a wrapping to a wrapped key, unlocking it with another: to add a passkey, or to change the
 * passphrase. The new wrapping replaces one of the same kind (the passphrase wrapping, or the wrapping
 * of the same credential).
 */
export async function addWrapping(doc: unknown, expected: KeyBinding & { readonly publicKey?: Uint8Array }, unlock: Unlock, protector: Protector): Promise<WrappedPrivateKey> {
  const p = parse(doc);
  const b = checkExpected(p, expected);
  const scalar = await openScalar(p, b, unlock);
  try {
    await importScalar(scalar, b.purpose, p.publicKey);
    const added = await makeWrapping(scalar, b, p.publicKey, protector);
    const kept = p.wrappings.filter((w) => !sameKind(w, added));
    const wrappings = [...kept, added];
    checkWrappingSet(wrappings, 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
    return toJson({ ...p, wrappings });
  } finally {
    scalar.fill(0);
  }
}

function sameKind(a: ParsedWrapping, b: ParsedWrapping): boolean {
  if (a.method === 'passphrase' || b.method === 'passphrase') return a.method === b.method;
  return constantTimeEqual(a.credentialId, b.credentialId);
}

/** Removes the passphrase wrapping or one passkey's wrapping; the last wrapping cannot be removed. */
export function removeWrapping(doc: unknown, which: { readonly passphrase: true } | { readonly credentialId: Uint8Array }): WrappedPrivateKey {
  const p = parse(doc);
  const wrappings = p.wrappings.filter((w) => ('passphrase' in which ? w.method !== 'passphrase' : !(w.method === 'webauthn-prf' && constantTimeEqual(w.credentialId, which.credentialId))));
  if (wrappings.length === p.wrappings.length) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_NO_WRAPPING', 'no such wrapping');
  checkWrappingSet(wrappings, 'EV_ERR_CRYPTO_INVALID_ARGUMENT');
  return toJson({ ...p, wrappings });
}
