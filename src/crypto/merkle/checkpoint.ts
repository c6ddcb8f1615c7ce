/**
 * Signed checkpoints: a log's commitment to its tree at a size, as a C2SP signed note
 * (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) signed with ECDSA P-256 (log-key.ts).
 *
 * The note text, exactly (UTF-8, every line ending in one U+000A):
 *
 * ```
 * <origin>                       the log's name, 1-255 characters of [A-Za-z0-9._/:-]
 * <tree size>                    decimal, no sign, no leading zero (0 for the empty tree)
 * <root hash>                    standard base64 (with padding) of the 32-byte RFC 6962 root
 * time <milliseconds>            decimal milliseconds since 1970-01-01T00:00:00Z: when it was signed
 * ```
 *
 * The signed bytes are those four lines, final newline included. The note is the text, one empty
 * line, then one signature line per signer: `— <origin> <base64(key ID || DER signature)>` (an em
 * dash U+2014 and a space first). A verifier needs a signature from its pinned key (same name and
 * key ID) that verifies, and no failing one from that key; it ignores lines from other keys (so
 * witnesses can cosign later). Only then does it read the text.
 */
import { constantTimeEqual, fromUtf8, utf8 } from '../bytes.js';
import { AuditLogError } from './errors.js';
import { fromBase64, toBase64 } from './encoding.js';
import { isHash } from './hash.js';
import { KEY_ID_LENGTH, type LogSigner, type LogVerifierKey, isLogName, signNoteText, verifyNoteSignature } from './log-key.js';

export interface Checkpoint {
  /** The log's name; a checkpoint is valid only under the key of that name. */
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Milliseconds since the Unix epoch. */
  readonly timestamp: number;
}

/** A checkpoint and the signed note it was read from or written as. */
export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly note: string;
}

/** Upper bounds a verifier applies before reading anything: a note is small. */
const MAX_NOTE_LENGTH = 16 * 1024;
const MAX_SIGNATURES = 16;
const DASH = '\u2014 ';
const decimal = /^(?:0|[1-9][0-9]{0,15})$/;

function malformed(why: string): AuditLogError {
  return new AuditLogError('EV_ERR_AUDIT_MALFORMED_CHECKPOINT', `not a checkpoint: ${why}`);
}

function parseDecimal(s: string, what: string): number {
  const n = decimal.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw malformed(`the ${what} is not a decimal whole number without leading zeros`);
  return n;
}

/** The note text of a checkpoint: the bytes that are signed. */
export function checkpointText(c: Checkpoint): string {
  if (!isLogName(c.origin)) throw malformed('the origin must be 1-255 characters of [A-Za-z0-9._/:-]');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw malformed('the size must be a whole number ≥ 0');
  if (!isHash(c.rootHash)) throw malformed('the root hash must be 32 bytes');
  if (!Number.isSafeInteger(c.timestamp) || c.timestamp < 0) throw malformed('the time must be whole milliseconds ≥ 0');
  return `${c.origin}\n${c.size}\n${toBase64(c.rootHash)}\ntime ${c.timestamp}\n`;
}

/** Reads a note text; strict: exactly the four lines above. It does not check any signature. */
export function parseCheckpointText(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length !== 5 || lines[4] !== '') throw malformed('the text is not four lines, each ending in a newline');
  const [origin, size, root, time] = lines as [string, string, string, string];
  if (!isLogName(origin)) throw malformed('the origin must be 1-255 characters of [A-Za-z0-9._/:-]');
  const rootHash = fromBase64(root);
  if (!rootHash || rootHash.length !== 32) throw malformed('the root hash is not canonical base64 of 32 bytes');
  if (!time.startsWith('time ')) throw malformed('the fourth line is not "time <milliseconds>"');
  return { origin, size: parseDecimal(size, 'tree size'), rootHash, timestamp: parseDecimal(time.slice(5), 'time') };
}

/** Signs a checkpoint with the log's key; its origin must be the signer's name. Returns the note. */
export async function signCheckpoint(c: Checkpoint, signer: LogSigner): Promise<string> {
  if (c.origin !== signer.name) throw malformed(`the origin ${JSON.stringify(c.origin)} is not the signer's name ${JSON.stringify(signer.name)}`);
  const text = checkpointText(c);
  const signature = await signNoteText(signer, utf8(text));
  return `${text}\n${DASH}${signer.name} ${toBase64(signature)}\n`;
}

interface SignatureLine {
  readonly name: string;
  readonly signature: Uint8Array;
}

/** Splits a signed note into its text and signature lines (C2SP signed-note, §Format). */
function splitNote(note: string): { text: string; signatures: SignatureLine[] } {
  if (typeof note !== 'string' || note.length > MAX_NOTE_LENGTH) throw malformed(`a note is text of at most ${MAX_NOTE_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0009\u000b-\u001f]/.test(note)) throw malformed('a note has no control characters but newlines');
  const blank = note.lastIndexOf('\n\n');
  if (blank < 0 || !note.endsWith('\n')) throw malformed('no signature block (text, an empty line, signature lines, each ending in a newline)');
  const text = note.slice(0, blank + 1);
  const lines = note.slice(blank + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw malformed(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line) => {
    const m = /^\u2014 ([^\s+]+) ([A-Za-z0-9+/=]+)$/u.exec(line);
    const signature = m ? fromBase64(m[2] as string) : null;
    if (!m || !signature || signature.length <= KEY_ID_LENGTH) throw malformed('a signature line is not "— <name> <base64 signature>"');
    return { name: m[1] as string, signature };
  });
  return { text, signatures };
}

/**
 * Verifies a signed checkpoint against a pinned log key and returns it. Throws
 * EV_ERR_AUDIT_MALFORMED_CHECKPOINT (not a note or not a checkpoint), EV_ERR_AUDIT_NOT_SIGNED (no
 * signature by the pinned key), EV_ERR_AUDIT_BAD_SIGNATURE (a signature by the pinned key that does
 * not verify: the note was modified), EV_ERR_AUDIT_WRONG_ORIGIN (signed, but for another origin).
 */
export async function openCheckpoint(note: string, key: LogVerifierKey): Promise<Checkpoint> {
  const { text, signatures } = splitNote(note);
  const message = utf8(text);
  let verified = false;
  for (const { name, signature } of signatures) {
    if (name !== key.name || !constantTimeEqual(signature.subarray(0, KEY_ID_LENGTH), key.keyId)) continue;
    if (!(await verifyNoteSignature(key, message, signature.subarray(KEY_ID_LENGTH)))) {
      throw new AuditLogError('EV_ERR_AUDIT_BAD_SIGNATURE', `the checkpoint's signature by ${key.name} does not verify: the checkpoint was modified`);
    }
    verified = true;
  }
  if (!verified) throw new AuditLogError('EV_ERR_AUDIT_NOT_SIGNED', `the checkpoint carries no signature by the pinned key ${key.name}`);
  const checkpoint = parseCheckpointText(fromUtf8(message));
  if (checkpoint.origin !== key.name) {
    throw new AuditLogError('EV_ERR_AUDIT_WRONG_ORIGIN', `the checkpoint is for ${JSON.stringify(checkpoint.origin)}, not for the pinned log ${JSON.stringify(key.name)}`);
  }
  return checkpoint;
}
