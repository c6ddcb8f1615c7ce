/**
 * The keys that sign and verify a log's checkpoints: ECDSA P-256 with SHA-256 (FIPS 186-5), through
 * WebCrypto. They follow the C2SP signed-note conventions for signature type 0x02 (ECDSA), so that
 * the checkpoints are ordinary signed notes:
 *
 * - key ID = the first 4 bytes of SHA-256(DER SubjectPublicKeyInfo of the public key);
 * - a signature is base64(key ID || DER Ecdsa-Sig-Value) over the note text;
 * - the verifier key, the one line a client pins, is `<name>+<key ID in hex>+<base64(0x02 || SPKI)>`.
 *
 * The key name is the log's origin. Names here are 1–255 characters of `[A-Za-z0-9._/:-]`, a strict
 * subset of what signed notes allow (no spaces, no `+`), so a name can never break a note's lines.
 */
import { bs, constantTimeEqual, toHex } from '../bytes.js';
import { AuditLogError } from './errors.js';
import { fromBase64, signatureFromDer, signatureToDer, toBase64 } from './encoding.js';
import { sha256 } from './hash.js';

export const SIGNATURE_TYPE_ECDSA = 0x02;
export const KEY_ID_LENGTH = 4;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signing = { name: 'ECDSA', hash: 'SHA-256' } as const;
const namePattern = /^[A-Za-z0-9._/:-]{1,255}$/;

export function isLogName(name: unknown): name is string {
  return typeof name === 'string' && namePattern.test(name);
}

/** What signs checkpoints: the private key, under the log's name and key ID. */
export interface LogSigner {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly privateKey: CryptoKey;
  /** The verifier key line clients pin. */
  readonly verifierKey: string;
}

/** What verifies checkpoints: a pinned verifier key, parsed. */
export interface LogVerifierKey {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly publicKey: CryptoKey;
  /** The line it was parsed from. */
  readonly text: string;
}

function malformedKey(why: string): AuditLogError {
  return new AuditLogError('EV_ERR_AUDIT_MALFORMED_KEY', `not a log verifier key: ${why}`);
}

async function keyIdOf(spki: Uint8Array): Promise<Uint8Array> {
  return (await sha256(spki)).slice(0, KEY_ID_LENGTH);
}

function verifierKeyLine(name: string, keyId: Uint8Array, spki: Uint8Array): string {
  const typed = new Uint8Array(1 + spki.length);
  typed[0] = SIGNATURE_TYPE_ECDSA;
  typed.set(spki, 1);
  return `${name}+${toHex(keyId)}+${toBase64(typed)}`;
}

/** A new P-256 key pair for a log; the private key is extractable so the log can store it (PKCS #8). */
export async function generateLogKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
}

export async function exportLogPrivateKey(privateKey: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey('pkcs8', privateKey));
}

/**
 * A signer from a stored PKCS #8 P-256 private key. The public key is derived from it (the PKCS #8
 * of WebCrypto carries the point), never stored apart where it could disagree. Throws
 * EV_ERR_AUDIT_MALFORMED_KEY for anything else.
 */
export async function importLogSigner(name: string, pkcs8: Uint8Array): Promise<LogSigner> {
  if (!isLogName(name)) throw malformedKey('the name must be 1-255 characters of [A-Za-z0-9._/:-]');
  let privateKey: CryptoKey;
  let publicKey: CryptoKey;
  try {
    const extractable = await crypto.subtle.importKey('pkcs8', bs(pkcs8), algorithm, true, ['sign']);
    const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', extractable);
    if (!x || !y) throw new Error('no public point');
    publicKey = await crypto.subtle.importKey('jwk', { kty, crv, x, y, ext: true }, algorithm, true, ['verify']);
    privateKey = await crypto.subtle.importKey('pkcs8', bs(pkcs8), algorithm, false, ['sign']);
  } catch {
    throw malformedKey('the private key is not a PKCS #8 P-256 key');
  }
  return signerOf(name, privateKey, publicKey);
}

/** A signer from a key pair in memory (a fresh one, or one imported elsewhere). */
export async function signerOf(name: string, privateKey: CryptoKey, publicKey: CryptoKey): Promise<LogSigner> {
  if (!isLogName(name)) throw malformedKey('the name must be 1-255 characters of [A-Za-z0-9._/:-]');
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', publicKey));
  const keyId = await keyIdOf(spki);
  return { name, keyId, privateKey, verifierKey: verifierKeyLine(name, keyId, spki) };
}

/**
 * Parses a verifier key line. Refuses, with EV_ERR_AUDIT_MALFORMED_KEY, a bad name, a key ID that is
 * not the one of the key, another signature type, and a key that is not an uncompressed P-256 SPKI.
 */
export async function parseVerifierKey(text: string): Promise<LogVerifierKey> {
  if (typeof text !== 'string') throw malformedKey('not text');
  const line = text.trim();
  const first = line.indexOf('+');
  const second = line.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw malformedKey('expected <name>+<key id hex>+<base64 key>');
  const name = line.slice(0, first);
  const idHex = line.slice(first + 1, second);
  const typed = fromBase64(line.slice(second + 1));
  if (!isLogName(name)) throw malformedKey('the name must be 1-255 characters of [A-Za-z0-9._/:-]');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw malformedKey('the key id is 8 lowercase hex digits');
  if (!typed || typed.length < 2) throw malformedKey('the key is not canonical base64');
  if (typed[0] !== SIGNATURE_TYPE_ECDSA) throw malformedKey(`signature type 0x${(typed[0] as number).toString(16).padStart(2, '0')} is not ECDSA (0x02)`);
  const spki = typed.subarray(1);
  let publicKey: CryptoKey;
  try {
    publicKey = await crypto.subtle.importKey('spki', bs(spki), algorithm, true, ['verify']);
  } catch {
    throw malformedKey('the key is not a P-256 public key');
  }
  // One key, one encoding (a compressed point would give the same key another key ID).
  if (!constantTimeEqual(new Uint8Array(await crypto.subtle.exportKey('spki', publicKey)), spki)) {
    throw malformedKey('the key is not in the canonical uncompressed SPKI form');
  }
  const keyId = await keyIdOf(spki);
  if (toHex(keyId) !== idHex) throw malformedKey('the key id does not belong to the key');
  return { name, keyId, publicKey, text: line };
}

/** Signs `message` (a note text) and returns the note signature: key ID || DER signature. */
export async function signNoteText(signer: LogSigner, message: Uint8Array): Promise<Uint8Array> {
  const raw = new Uint8Array(await crypto.subtle.sign(signing, signer.privateKey, bs(message)));
  const der = signatureToDer(raw);
  const out = new Uint8Array(KEY_ID_LENGTH + der.length);
  out.set(signer.keyId);
  out.set(der, KEY_ID_LENGTH);
  return out;
}

/** Verifies the DER part of a note signature (after the key ID) over `message`. */
export async function verifyNoteSignature(key: LogVerifierKey, message: Uint8Array, der: Uint8Array): Promise<boolean> {
  const raw = signatureFromDer(der);
  if (!raw) return false;
  try {
    return await crypto.subtle.verify(signing, key.publicKey, bs(raw), bs(message));
  } catch {
    return false;
  }
}
