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
 * Only AES-256-GCM (Node's OpenSSL, on the calling thread: a 400 KB segment takes ~0.15 ms, less
 * than a round trip through the thread pool). Failures are returned as null here; the store turns
 * them into its one opaque integrity error.
 */
import { type KeyObject, createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto';
import { type ObjectBytes, partsOf } from './blob-store.js';
import type { WrappedKey } from './keyring.js';
import { randomPool } from './random-pool.js';

export const AT_REST_FORMAT_VERSION = 1;
export const OBJECT_MAGIC = 'EVAD';
export const RECORD_MAGIC = 'EVAK';
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
const OBJECT_HEADER_LENGTH = 4 + 1 + NONCE_LENGTH;
/** Bytes a sealed object adds to its plaintext. */
export const SEALED_OVERHEAD = OBJECT_HEADER_LENGTH + TAG_LENGTH;
export const DATA_KEY_LENGTH = 32;

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

/**
 * A data key for the cipher: a key object, or its 32 raw bytes. A fresh key is sealed with once, so it
 * stays raw: making a key object of it would cost as much again as wrapping it.
 */
export type DataKey = KeyObject | Uint8Array;

/** A fresh object data key: 32 random bytes of its own, for the caller to wipe once it is sealed and wrapped. */
export function newDataKey(): Uint8Array {
  return randomPool.take(DATA_KEY_LENGTH);
}

/** A key object holding its own copy of `raw`: the caller may wipe `raw` afterwards. */
export function importDataKey(raw: Uint8Array): KeyObject {
  if (raw.length !== DATA_KEY_LENGTH) throw new RangeError(`a data key is ${DATA_KEY_LENGTH} bytes`);
  return createSecretKey(Buffer.from(raw));
}

/**
 * Seals in one pass on the calling thread: AES-256-GCM runs at gigabytes a second, so a segment takes
 * tens of microseconds, less than handing it to the thread pool would. The plaintext may come as
 * consecutive parts (a request body's chunks), sealed one after the other without joining them.
 * Returns the sealed object as its consecutive parts (header with nonce, the ciphertext of each
 * plaintext part, tag): a store that writes parts as they are (blob-store.ts `takesParts`) spares a
 * copy of the whole object.
 */
export function sealObjectParts(dataKey: DataKey, key: string, plaintext: ObjectBytes): Uint8Array[] {
  const nonce = randomPool.take(NONCE_LENGTH);
  const aad = prologue(OBJECT_MAGIC, key);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const header = Buffer.allocUnsafe(OBJECT_HEADER_LENGTH);
  header.set(aad.subarray(0, 5), 0);
  header.set(nonce, 5);
  const parts: Uint8Array[] = [header];
  for (const part of partsOf(plaintext)) parts.push(cipher.update(part));
  const tail = cipher.final();
  if (tail.length > 0) parts.push(tail);
  parts.push(cipher.getAuthTag());
  return parts;
}

/** The sealed object in one buffer. */
export function sealObject(dataKey: DataKey, key: string, plaintext: Uint8Array): Uint8Array {
  return Buffer.concat(sealObjectParts(dataKey, key, plaintext));
}

/** The plaintext, or null if the object is not a sealed object that authenticates for `key`. */
export function openObject(dataKey: KeyObject, key: string, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < SEALED_OVERHEAD || !hasPrologue(sealed, OBJECT_MAGIC)) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, sealed.subarray(5, OBJECT_HEADER_LENGTH), { authTagLength: TAG_LENGTH });
    decipher.setAAD(prologue(OBJECT_MAGIC, key));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    const body = decipher.update(sealed.subarray(OBJECT_HEADER_LENGTH, sealed.length - TAG_LENGTH));
    const tail = decipher.final();
    const out = tail.length === 0 ? body : Buffer.concat([body, tail]);
    // A plain Uint8Array over the same bytes: callers compare it with other Uint8Arrays.
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
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
