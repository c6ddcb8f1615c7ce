/**
 * Audit log entries and their leaf encoding. An entry is a security event with its place in the log:
 *
 *   { seq, createdAt, institution, type, payload }
 *
 * and its leaf data (what RFC 6962 hashes as a leaf) is the canonical JSON of
 *
 *   { "createdAt": <ms>, "institution": <id or null>, "payload": {...}, "seq": <n>, "type": "<type>", "v": 1 }
 *
 * Canonical JSON here is RFC 8785 (JCS) restricted so that it is trivial to get right everywhere:
 * object keys sorted by UTF-16 code units, no white space, strings only of printable ASCII that
 * JSON never escapes, numbers only safe integers (no floats, whose text forms differ between
 * languages). `seq` is the leaf index, so an entry cannot be moved; every stored column is in the
 * leaf, so none can be changed unnoticed.
 *
 * Events hold no personal data: ids, keys, hashes and numbers only. The rules enforce what they can of
 * that: strings are at most 2048 characters of `[A-Za-z0-9._:/+=_-]` (no spaces, no `@`: no names, no
 * sentences, no e-mail addresses).
 */
import { utf8 } from '../bytes.js';
import { AuditLogError } from './errors.js';

export type AuditValue = string | number | boolean | null | readonly AuditValue[] | { readonly [key: string]: AuditValue };
export type AuditPayload = { readonly [key: string]: AuditValue };

/** What a caller appends: which institution (null for an event of the whole cell), what, details. */
export interface AuditEvent {
  readonly institution: string | null;
  readonly type: string;
  readonly payload: AuditPayload;
}

/** An event in the log: its sequence number (the leaf index, from 0) and when it was appended. */
export interface AuditEntry extends AuditEvent {
  readonly seq: number;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
}

export const LEAF_VERSION = 1;

const typePattern = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;
const institutionPattern = /^[A-Za-z0-9._:-]{1,64}$/;
const keyPattern = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const stringPattern = /^[A-Za-z0-9._:/+=_-]{0,2048}$/;
const MAX_DEPTH = 4;
const MAX_ITEMS = 256;
/** The canonical payload's largest size, in bytes (characters: it is ASCII). */
export const MAX_PAYLOAD_LENGTH = 16 * 1024;

function invalid(why: string): AuditLogError {
  return new AuditLogError('EV_ERR_AUDIT_INVALID_EVENT', `invalid audit event: ${why}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Canonical JSON of a value that follows the rules above; throws EV_ERR_AUDIT_INVALID_EVENT otherwise. */
function canonical(v: unknown, path: string, depth: number): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw invalid(`${path} is a number that is not a safe integer`);
    return String(v);
  }
  if (typeof v === 'string') {
    if (!stringPattern.test(v)) throw invalid(`${path} is not at most 2048 characters of [A-Za-z0-9._:/+=_-] (ids only: no personal data)`);
    return `"${v}"`;
  }
  if (depth >= MAX_DEPTH) throw invalid(`${path} nests deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(v)) {
    if (v.length > MAX_ITEMS) throw invalid(`${path} has more than ${MAX_ITEMS} items`);
    return `[${v.map((x, i) => canonical(x, `${path}[${i}]`, depth + 1)).join(',')}]`;
  }
  if (isPlainObject(v)) {
    const keys = Object.keys(v).sort();
    if (keys.length > MAX_ITEMS) throw invalid(`${path} has more than ${MAX_ITEMS} keys`);
    return `{${keys
      .map((k) => {
        if (!keyPattern.test(k)) throw invalid(`${path} has a key that is not [A-Za-z][A-Za-z0-9_]{0,63}`);
        return `"${k}":${canonical(v[k], `${path}.${k}`, depth + 1)}`;
      })
      .join(',')}}`;
  }
  throw invalid(`${path} is not JSON (string, integer, boolean, null, array or object)`);
}

/**
 * Checks an event and returns its payload's canonical JSON (what the log stores). Throws
 * EV_ERR_AUDIT_INVALID_EVENT naming the rule broken.
 */
export function canonicalPayload(event: AuditEvent): string {
  if (typeof event !== 'object' || event === null) throw invalid('not an object');
  checkHead(event);
  if (!isPlainObject(event.payload)) throw invalid('payload is not an object');
  const payload = canonical(event.payload, 'payload', 0);
  if (payload.length > MAX_PAYLOAD_LENGTH) throw invalid(`payload is longer than ${MAX_PAYLOAD_LENGTH} bytes`);
  return payload;
}

function checkHead(event: { readonly institution: unknown; readonly type: unknown }): void {
  if (typeof event.type !== 'string' || event.type.length > 64 || !typePattern.test(event.type)) {
    throw invalid('type is not 1-64 characters of dot-, dash- or underscore-separated [a-z0-9] words');
  }
  if (event.institution !== null && (typeof event.institution !== 'string' || !institutionPattern.test(event.institution))) {
    throw invalid('institution is neither null nor an id of 1-64 characters of [A-Za-z0-9._:-]');
  }
}

function checkPlace(seq: number, createdAt: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) throw invalid('seq is not a whole number ≥ 0');
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) throw invalid('createdAt is not whole milliseconds ≥ 0');
}

/**
 * The leaf data of an entry whose payload is already canonical JSON (as stored): the same bytes as
 * `encodeLeaf` gives for the parsed entry, without parsing the payload again.
 */
export function encodeLeafWithPayload(place: { seq: number; createdAt: number; institution: string | null; type: string }, payloadJson: string): Uint8Array {
  checkPlace(place.seq, place.createdAt);
  checkHead(place);
  const institution = place.institution === null ? 'null' : `"${place.institution}"`;
  return utf8(`{"createdAt":${place.createdAt},"institution":${institution},"payload":${payloadJson},"seq":${place.seq},"type":"${place.type}","v":${LEAF_VERSION}}`);
}

/** The leaf data of an entry (the bytes hashed as its RFC 6962 leaf). Checks the entry first. */
export function encodeLeaf(entry: AuditEntry): Uint8Array {
  const payload = canonicalPayload(entry);
  return encodeLeafWithPayload(entry, payload);
}
