/**
 * The at-rest formats (DESIGN "At rest"; byte by byte in docs/STORAGE.md): what EncryptedBlobStore
 * writes for each object. Two blobs per object, stored under the same key in two stores:
 *
 * Sealed object (the bulk; written once per put, never rewritten by a key rotation):
 *   "EVAD" | version 0x01 | nonce (12) | AES-256-GCM ciphertext | tag (16)
 *   GCM additional data: "EVAD" | 0x01 | the object's key (ASCII)
 *
 * Key record (small; rewritten by a rotation, destroyed first by a shred):
 *   "EVAK" | version 0x01 | key id length (1) | key id (ASCII) | KEK version (uint32 BE) |
 *   wrapped length (uint16 BE) | wrapped data key (as the keyring made it)
 *   The keyring wraps with additional data "EVAK" | 0x01 | the object's key.
 *
 * Binding the object's key into both additional data means an object or a key record copied to
 * another key fails to open, and so does an object paired with another object's record.
 *
 * Only AES-256-GCM through WebCrypto, which runs in libuv's thread pool: sealing a 400 KB segment
 * does not hold the event loop. Failures are returned as null here; the store turns them into its
 * one opaque integrity error.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import type { WrappedKey } from './keyring.js';

export const AT_REST_FORMAT_VERSION = 1;
export const OBJECT_MAGIC = 'EVAD';
export const RECORD_MAGIC = 'EVAK';
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const OBJECT_HEADER_LENGTH = 4 + 1 + NONCE_LENGTH;
/** Bytes a sealed object adds to its plaintext. */
export const SEALED_OVERHEAD = OBJECT_HEADER_LENGTH + TAG_LENGTH;
export const DATA_KEY_LENGTH = 32;

const subtle = webcrypto.subtle;
/** WebCrypto's typings want views over a plain ArrayBuffer; Node's buffers are that at run time. */
const bs = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

function prologue(magic: string, key: string): Buffer {
  const out = Buffer.allocUnsafe(5 + key.length);
  out.write(magic, 0, 'latin1');
  out[4] = AT_REST_FORMAT_VERSION;
  out.write(key, 5, 'latin1'); // keys are ASCII (blob-store.ts)
  return out;
}

function hasPrologue(bytes: Uint8Array, magic: string): boolean {
  if (bytes.length < 5 || bytes[4] !== AT_REST_FORMAT_VERSION) return false;
  for (let i = 0; i < 4; i++) if (bytes[i] !== magic.charCodeAt(i)) return false;
  return true;
}

/** The additional data the keyring binds a wrapped data key to. */
export function keyRecordAad(key: string): Uint8Array {
  return prologue(RECORD_MAGIC, key);
}

/** A fresh object data key: 32 random bytes, and the same as a WebCrypto key. */
export async function newDataKey(): Promise<{ raw: Uint8Array; key: CryptoKey }> {
  const raw = randomBytes(DATA_KEY_LENGTH);
  return { raw, key: await importDataKey(raw) };
}

export function importDataKey(raw: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey('raw', bs(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
}

export async function sealObject(dataKey: CryptoKey, key: string, plaintext: Uint8Array): Promise<Uint8Array> {
  const nonce = randomBytes(NONCE_LENGTH);
  const aad = prologue(OBJECT_MAGIC, key);
  const sealed = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: bs(nonce), additionalData: bs(aad) }, dataKey, bs(plaintext)));
  // WebCrypto hands back ciphertext || tag in a fresh buffer; the header goes in front (one copy).
  const out = Buffer.allocUnsafe(OBJECT_HEADER_LENGTH + sealed.length);
  out.set(aad.subarray(0, 5), 0);
  out.set(nonce, 5);
  out.set(sealed, OBJECT_HEADER_LENGTH);
  return out;
}

/** The plaintext, or null if the object is not a sealed object that authenticates for `key`. */
export async function openObject(dataKey: CryptoKey, key: string, sealed: Uint8Array): Promise<Uint8Array | null> {
  if (sealed.length < SEALED_OVERHEAD || !hasPrologue(sealed, OBJECT_MAGIC)) return null;
  try {
    const plaintext = await subtle.decrypt(
      { name: 'AES-GCM', iv: bs(sealed.subarray(5, OBJECT_HEADER_LENGTH)), additionalData: bs(prologue(OBJECT_MAGIC, key)) },
      dataKey,
      bs(sealed.subarray(OBJECT_HEADER_LENGTH)),
    );
    return new Uint8Array(plaintext);
  } catch {
    return null;
  }
}

export function encodeKeyRecord(wrapped: WrappedKey): Uint8Array {
  const id = wrapped.keyId;
  if (!/^[\x21-\x7e]{1,255}$/.test(id)) throw new RangeError(`key id ${JSON.stringify(id)} cannot be recorded: printable ASCII, 1-255 characters`);
  if (!Number.isInteger(wrapped.version) || wrapped.version < 0 || wrapped.version > 0xffffffff) throw new RangeError('a key version is a uint32');
  if (wrapped.wrapped.length > 0xffff) throw new RangeError('a wrapped key is at most 65535 bytes');
  const out = Buffer.allocUnsafe(5 + 1 + id.length + 4 + 2 + wrapped.wrapped.length);
  out.write(RECORD_MAGIC, 0, 'latin1');
  out[4] = AT_REST_FORMAT_VERSION;
  out[5] = id.length;
  out.write(id, 6, 'latin1');
  let at = 6 + id.length;
  out.writeUInt32BE(wrapped.version, at);
  out.writeUInt16BE(wrapped.wrapped.length, at + 4);
  at += 6;
  out.set(wrapped.wrapped, at);
  return out;
}

/** The record's fields, or null if `bytes` is not exactly one well-formed key record. */
export function decodeKeyRecord(bytes: Uint8Array): WrappedKey | null {
  if (bytes.length < 6 || !hasPrologue(bytes, RECORD_MAGIC)) return null;
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idLength = view[5] as number;
  if (idLength === 0 || view.length < 6 + idLength + 6) return null;
  const keyId = view.toString('latin1', 6, 6 + idLength);
  if (!/^[\x21-\x7e]+$/.test(keyId)) return null;
  const at = 6 + idLength;
  const version = view.readUInt32BE(at);
  const wrappedLength = view.readUInt16BE(at + 4);
  if (view.length !== at + 6 + wrappedLength) return null;
  return { keyId, version, wrapped: view.subarray(at + 6) };
}
