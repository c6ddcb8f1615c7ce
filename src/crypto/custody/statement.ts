/**
 * The canonical binary encoding of custody statements (docs/KEY-CUSTODY.md §7): the entries of the
 * transparency log that clients check before trusting a public key. Framing only, no keys: the server
 * can validate what it appends without being able to sign anything.
 *
 * One statement has exactly one encoding. Fields are TLV records in strictly increasing tag order,
 * each type has a fixed set of tags (no optional ones, no unknown ones), and every value has one
 * valid form, so re-encoding a decoded statement gives back the same bytes.
 */
import { concat, fromUtf8, readU16, readU32, readU64, u16, u32, u64, utf8 } from '../bytes.js';
import { PUBLIC_KEY_LENGTH } from '../epoch-key.js';
import { ExamVaultCryptoError } from '../errors.js';
import { checkEpoch, checkId, isEpoch, isId } from './ids.js';
import { MEMBER_FINGERPRINT_LENGTH } from './member-keys.js';

export const STATEMENT_MAGIC = Object.freeze([0x45, 0x56, 0x53, 0x54, 0x4d, 0x54]); // "EVSTMT"
export const STATEMENT_VERSION = 1;
export const STATEMENT_HEADER_LENGTH = 10;
export const MAX_STATEMENT_LENGTH = 1024;

export const statementTypes = ['institution', 'admin-enrolment', 'epoch', 'key-registration', 'approval', 'revocation'] as const;
export type StatementType = (typeof statementTypes)[number];

interface StatementBase {
  readonly institution: string;
  /** Milliseconds since 1970-01-01T00:00:00Z, as the signer's clock read it. */
  readonly timestamp: number;
}

/** The institution's root: the recovery key's public keys, signed by the recovery key itself. */
export interface InstitutionStatement extends StatementBase {
  readonly type: 'institution';
  readonly hpkePublicKey: Uint8Array;
  readonly signingPublicKey: Uint8Array;
}

/** Admin `admin` has these keys; signed by an existing admin or by the recovery key. */
export interface AdminEnrolmentStatement extends StatementBase {
  readonly type: 'admin-enrolment';
  readonly admin: string;
  readonly hpkePublicKey: Uint8Array;
  readonly signingPublicKey: Uint8Array;
  readonly enrolledBy: { readonly kind: 'admin'; readonly admin: string } | { readonly kind: 'recovery' };
}

/** The institution's epoch `epoch` has this public key; signed by admin `admin`. */
export interface EpochStatement extends StatementBase {
  readonly type: 'epoch';
  readonly admin: string;
  readonly epoch: number;
  readonly epochPublicKey: Uint8Array;
}

/** Reviewer `reviewer` registers these keys; signed by the reviewer's own signing key. */
export interface KeyRegistrationStatement extends StatementBase {
  readonly type: 'key-registration';
  readonly reviewer: string;
  readonly hpkePublicKey: Uint8Array;
  readonly signingPublicKey: Uint8Array;
}

/** Admin `admin` approves the keys with this member fingerprint for `reviewer` at `epoch`. */
export interface ApprovalStatement extends StatementBase {
  readonly type: 'approval';
  readonly admin: string;
  readonly reviewer: string;
  readonly epoch: number;
  readonly fingerprint: Uint8Array;
}

/** Admin `admin` revokes `reviewer`: epoch `epoch` (the new one, ≥ 2) starts with this public key. */
export interface RevocationStatement extends StatementBase {
  readonly type: 'revocation';
  readonly admin: string;
  readonly reviewer: string;
  readonly epoch: number;
  readonly epochPublicKey: Uint8Array;
}

export type Statement =
  | InstitutionStatement
  | AdminEnrolmentStatement
  | EpochStatement
  | KeyRegistrationStatement
  | ApprovalStatement
  | RevocationStatement;

export type StatementOf<T extends StatementType> = Extract<Statement, { readonly type: T }>;

/** Who signs a statement: the member it is about (self-signed), an admin, or the recovery key. */
export type Signer =
  | { readonly kind: 'subject'; readonly member: string }
  | { readonly kind: 'admin'; readonly admin: string }
  | { readonly kind: 'recovery' };

const TAG = {
  institution: 1,
  timestamp: 2,
  signer: 3,
  subject: 4,
  epoch: 5,
  hpkePublicKey: 6,
  signingPublicKey: 7,
  fingerprint: 8,
  epochPublicKey: 9,
} as const;

const SIGNER_SUBJECT = 1;
const SIGNER_ADMIN = 2;
const SIGNER_RECOVERY = 3;

/** The tags each type carries, in order. */
const schema: Readonly<Record<StatementType, readonly number[]>> = {
  institution: [TAG.institution, TAG.timestamp, TAG.signer, TAG.hpkePublicKey, TAG.signingPublicKey],
  'admin-enrolment': [TAG.institution, TAG.timestamp, TAG.signer, TAG.subject, TAG.hpkePublicKey, TAG.signingPublicKey],
  epoch: [TAG.institution, TAG.timestamp, TAG.signer, TAG.epoch, TAG.epochPublicKey],
  'key-registration': [TAG.institution, TAG.timestamp, TAG.signer, TAG.subject, TAG.hpkePublicKey, TAG.signingPublicKey],
  approval: [TAG.institution, TAG.timestamp, TAG.signer, TAG.subject, TAG.epoch, TAG.fingerprint],
  revocation: [TAG.institution, TAG.timestamp, TAG.signer, TAG.subject, TAG.epoch, TAG.epochPublicKey],
};

export function signerOf(s: Statement): Signer {
  switch (s.type) {
    case 'institution':
      return { kind: 'recovery' };
    case 'admin-enrolment':
      return s.enrolledBy.kind === 'admin' ? { kind: 'admin', admin: s.enrolledBy.admin } : { kind: 'recovery' };
    case 'key-registration':
      return { kind: 'subject', member: s.reviewer };
    default:
      return { kind: 'admin', admin: s.admin };
  }
}

function subjectOf(s: Statement): string | undefined {
  switch (s.type) {
    case 'admin-enrolment':
      return s.admin;
    case 'key-registration':
    case 'approval':
    case 'revocation':
      return s.reviewer;
    default:
      return undefined;
  }
}

function encodeSigner(signer: Signer): Uint8Array {
  if (signer.kind === 'admin') return concat(new Uint8Array([SIGNER_ADMIN]), utf8(signer.admin));
  return new Uint8Array([signer.kind === 'subject' ? SIGNER_SUBJECT : SIGNER_RECOVERY]);
}

function invalid(why: string): ExamVaultCryptoError {
  return new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `invalid statement: ${why}`);
}

function checkPoint(name: string, b: unknown): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== PUBLIC_KEY_LENGTH || b[0] !== 0x04) throw invalid(`${name} must be a 65-byte uncompressed point`);
  return b;
}

/** The field values of a statement, by tag; validates every field as it goes. */
function fieldsOf(s: Statement): Map<number, Uint8Array> {
  if (!statementTypes.includes(s.type)) throw invalid(`type must be one of ${statementTypes.join(', ')}`);
  if (!Number.isSafeInteger(s.timestamp) || s.timestamp < 0) throw invalid('timestamp must be a non-negative safe integer');
  const signer = signerOf(s);
  if (signer.kind === 'admin') checkId('admin', signer.admin);
  const f = new Map<number, Uint8Array>([
    [TAG.institution, utf8(checkId('institution', s.institution))],
    [TAG.timestamp, u64(s.timestamp)],
    [TAG.signer, encodeSigner(signer)],
  ]);
  const subject = subjectOf(s);
  if (subject !== undefined) f.set(TAG.subject, utf8(checkId(s.type === 'admin-enrolment' ? 'admin' : 'reviewer', subject)));
  if (s.type === 'admin-enrolment' && s.enrolledBy.kind === 'admin' && s.enrolledBy.admin === s.admin) throw invalid('an admin cannot enrol itself');
  if ('epoch' in s) {
    checkEpoch(s.epoch);
    if (s.type === 'revocation' && s.epoch < 2) throw invalid('a revocation starts a new epoch, 2 or later');
    f.set(TAG.epoch, u32(s.epoch));
  }
  if ('hpkePublicKey' in s) f.set(TAG.hpkePublicKey, checkPoint('hpkePublicKey', s.hpkePublicKey));
  if ('signingPublicKey' in s) f.set(TAG.signingPublicKey, checkPoint('signingPublicKey', s.signingPublicKey));
  if ('epochPublicKey' in s) f.set(TAG.epochPublicKey, checkPoint('epochPublicKey', s.epochPublicKey));
  if (s.type === 'approval') {
    if (!(s.fingerprint instanceof Uint8Array) || s.fingerprint.length !== MEMBER_FINGERPRINT_LENGTH) throw invalid('fingerprint must be 32 bytes');
    f.set(TAG.fingerprint, s.fingerprint);
  }
  return f;
}

export function encodeStatement(s: Statement): Uint8Array {
  const fields = fieldsOf(s);
  const tags = schema[s.type];
  if (fields.size !== tags.length) throw invalid(`a ${s.type} statement has exactly the fields of its type`);
  const body = concat(...tags.map((tag) => {
    const value = fields.get(tag) as Uint8Array;
    return concat(new Uint8Array([tag]), u16(value.length), value);
  }));
  return concat(new Uint8Array(STATEMENT_MAGIC), new Uint8Array([STATEMENT_VERSION, statementTypes.indexOf(s.type) + 1]), u16(body.length), body);
}

function malformed(why: string): ExamVaultCryptoError {
  return new ExamVaultCryptoError('EV_ERR_CUSTODY_STATEMENT_MALFORMED', `malformed statement: ${why}`);
}

/**
 * The length of the statement at the start of `input`, from its header (so a signed statement can be
 * split from its signature). Checks magic, version and type.
 */
export function statementLength(input: Uint8Array): number {
  if (input.length < STATEMENT_HEADER_LENGTH) throw malformed('shorter than its header');
  if (!STATEMENT_MAGIC.every((b, i) => input[i] === b)) throw malformed('not an ExamVault statement');
  if (input[6] !== STATEMENT_VERSION) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED', `unsupported statement version ${input[6]}`);
  }
  const type = input[7] as number;
  if (type < 1 || type > statementTypes.length) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_STATEMENT_UNSUPPORTED', `unknown statement type ${type}`);
  const length = STATEMENT_HEADER_LENGTH + readU16(input, 8);
  if (length > MAX_STATEMENT_LENGTH) throw malformed('longer than 1024 bytes');
  if (input.length < length) throw malformed('cut short');
  return length;
}

function id(name: string, b: Uint8Array): string {
  const s = ascii(b);
  if (!isId(s)) throw malformed(`${name} is not a valid id`);
  return s;
}

function ascii(b: Uint8Array): string {
  try {
    return fromUtf8(b);
  } catch {
    return '';
  }
}

function point(name: string, b: Uint8Array): Uint8Array {
  if (b.length !== PUBLIC_KEY_LENGTH || b[0] !== 0x04) throw malformed(`${name} is not a 65-byte uncompressed point`);
  return b;
}

function decodeSigner(b: Uint8Array, subject: string | undefined): Signer {
  if (b.length === 1 && b[0] === SIGNER_SUBJECT && subject !== undefined) return { kind: 'subject', member: subject };
  if (b.length === 1 && b[0] === SIGNER_RECOVERY) return { kind: 'recovery' };
  if (b.length > 1 && b[0] === SIGNER_ADMIN) return { kind: 'admin', admin: id('signer', b.subarray(1)) };
  throw malformed('signer is not valid');
}

/** Parses exactly one statement: `bytes` must hold nothing else. */
export function decodeStatement(bytes: Uint8Array): Statement {
  if (statementLength(bytes) !== bytes.length) throw malformed('bytes follow the statement');
  const type = statementTypes[(bytes[7] as number) - 1] as StatementType;
  const fields = new Map<number, Uint8Array>();
  let offset = STATEMENT_HEADER_LENGTH;
  let previous = 0;
  while (offset < bytes.length) {
    if (offset + 3 > bytes.length) throw malformed('a field header is cut short');
    const tag = bytes[offset] as number;
    const length = readU16(bytes, offset + 1);
    if (tag <= previous) throw malformed('fields are not in increasing tag order');
    if (offset + 3 + length > bytes.length) throw malformed('a field is cut short');
    fields.set(tag, bytes.slice(offset + 3, offset + 3 + length));
    previous = tag;
    offset += 3 + length;
  }
  const tags = schema[type];
  if (fields.size !== tags.length || !tags.every((t) => fields.has(t))) throw malformed(`a ${type} statement has exactly the fields of its type`);
  const get = (tag: number) => fields.get(tag) as Uint8Array;

  const institution = id('institution', get(TAG.institution));
  const ts = get(TAG.timestamp);
  const timestamp = ts.length === 8 ? readU64(ts, 0) : null;
  if (timestamp === null) throw malformed('timestamp is not a u64 of at most 2^53-1');
  const subject = fields.has(TAG.subject) ? id('subject', get(TAG.subject)) : undefined;
  const signer = decodeSigner(get(TAG.signer), subject);
  const epochBytes = fields.get(TAG.epoch);
  const epoch = epochBytes && epochBytes.length === 4 ? readU32(epochBytes, 0) : 0;
  if (epochBytes && !isEpoch(epoch)) throw malformed('epoch is not a u32 of at least 1');
  const base = { institution, timestamp };
  const allowed = (kinds: Signer['kind'][]) => {
    if (!kinds.includes(signer.kind)) throw malformed(`a ${type} statement is not signed by ${signer.kind}`);
  };

  let s: Statement;
  switch (type) {
    case 'institution':
      allowed(['recovery']);
      s = { type, ...base, hpkePublicKey: point('hpkePublicKey', get(TAG.hpkePublicKey)), signingPublicKey: point('signingPublicKey', get(TAG.signingPublicKey)) };
      break;
    case 'admin-enrolment':
      allowed(['admin', 'recovery']);
      s = {
        type,
        ...base,
        admin: subject as string,
        hpkePublicKey: point('hpkePublicKey', get(TAG.hpkePublicKey)),
        signingPublicKey: point('signingPublicKey', get(TAG.signingPublicKey)),
        enrolledBy: signer.kind === 'admin' ? { kind: 'admin', admin: signer.admin } : { kind: 'recovery' },
      };
      break;
    case 'epoch':
      allowed(['admin']);
      s = { type, ...base, admin: (signer as { admin: string }).admin, epoch, epochPublicKey: point('epochPublicKey', get(TAG.epochPublicKey)) };
      break;
    case 'key-registration':
      allowed(['subject']);
      s = { type, ...base, reviewer: subject as string, hpkePublicKey: point('hpkePublicKey', get(TAG.hpkePublicKey)), signingPublicKey: point('signingPublicKey', get(TAG.signingPublicKey)) };
      break;
    case 'approval': {
      allowed(['admin']);
      const fingerprint = get(TAG.fingerprint);
      if (fingerprint.length !== MEMBER_FINGERPRINT_LENGTH) throw malformed('fingerprint is not 32 bytes');
      s = { type, ...base, admin: (signer as { admin: string }).admin, reviewer: subject as string, epoch, fingerprint };
      break;
    }
    case 'revocation':
      allowed(['admin']);
      s = { type, ...base, admin: (signer as { admin: string }).admin, reviewer: subject as string, epoch, epochPublicKey: point('epochPublicKey', get(TAG.epochPublicKey)) };
      break;
  }
  // Rules that encoding enforces (an admin enrolling itself, a revocation to epoch 1) hold here too;
  // and what decodes re-encodes to the very same bytes: one statement, one encoding.
  let again: Uint8Array;
  try {
    again = encodeStatement(s);
  } catch (e) {
    throw malformed(e instanceof Error ? e.message.replace(/^invalid statement: /, '') : 'invalid');
  }
  if (again.length !== bytes.length || !again.every((b, i) => b === bytes[i])) throw malformed('not in canonical form');
  return s;
}
