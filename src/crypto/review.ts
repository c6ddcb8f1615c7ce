/**
 * Review records (docs/SPEC.md §13): a reviewer's verdict and notes on one exam attempt, sealed in
 * the reviewer's browser to the institution's epoch key and signed by the author's member signing key.
 *
 * The server stores the records and can read only their clear head: institution, attempt, revision,
 * author, epoch and the id of the revision before. The head is the HPKE info of the sealed body and is
 * covered by the author's signature, so a server that moves a record to another attempt, relabels its
 * revision or author, or changes any byte, is caught. Each revision names the id of the one before it,
 * so a history read from revision 1 is one chain: a server can withhold the newest revisions (a reader
 * that remembers the last revision it saw notices), but it cannot drop, reorder or splice one in the
 * middle, nor serve an older revision as a newer one.
 */
import { bs, concat, constantTimeEqual, readU32, str8, u32, utf8 } from './bytes.js';
import { idPattern } from './context.js';
import { DecryptionFailedError, ExamVaultCryptoError } from './errors.js';
import { ENC_LENGTH } from './header.js';
import { hpke } from './hpke.js';
import { JsonFields } from './json-fields.js';
import { checkEpoch, checkId } from './custody/ids.js';
import { SIGNATURE_LENGTH, importSigningPublicKey, sign, verifySignature } from './custody/signing-key.js';

/** "EVNOTE": what a reader looks for first. */
export const REVIEW_MAGIC = utf8('EVNOTE');
const VERSION = 1;
const INFO_LABEL = utf8('examvault/v1/review');
const SIGNATURE_LABEL = utf8('examvault/v1/review-record');
export const REVIEW_ID_LENGTH = 32;
/** The sealed body: JSON of at most this many bytes (plus the 16-byte tag). */
export const MAX_REVIEW_BODY = 65_536;
/** Notes, in UTF-16 code units (what a textarea's maxlength counts): at most 6 JSON bytes each. */
export const MAX_REVIEW_NOTES = 10_000;
/** The largest head (six fixed-size fields and three ids of at most 64 bytes) plus enc, length, body, tag and signature. */
export const MAX_REVIEW_RECORD = 7 + 3 * 65 + 8 + 32 + ENC_LENGTH + 4 + MAX_REVIEW_BODY + 16 + SIGNATURE_LENGTH;

export const verdicts = ['undecided', 'no-concern', 'concern', 'violation'] as const;
export type Verdict = (typeof verdicts)[number];

/** What the author wrote: sealed, the server never sees it. */
export interface ReviewContent {
  readonly verdict: Verdict;
  readonly notes: string;
  /** Milliseconds since the Unix epoch by the author's clock: the author's claim, not a proof of time. */
  readonly time: number;
}

/** The clear head of a record, which the server reads and the signature covers. */
export interface ReviewHead {
  readonly institution: string;
  readonly attempt: string;
  /** 1 for the first record of an attempt, then each one more than the one before. */
  readonly revision: number;
  /** The member id of the author, whose signing key signed the record. */
  readonly author: string;
  /** The institution epoch whose public key the body is sealed to. */
  readonly epoch: number;
  /** The id of revision − 1; 32 zero bytes for revision 1. */
  readonly previous: Uint8Array;
}

export interface DecodedReview extends ReviewHead {
  /** SHA-256 of the record without its signature: what the next revision names. */
  readonly id: Uint8Array;
  readonly bytes: Uint8Array;
}

export interface OpenedReview extends DecodedReview {
  readonly content: ReviewContent;
}

export interface SealReviewInput {
  readonly institution: string;
  readonly attempt: string;
  readonly author: string;
  /** The record this one follows (as decoded or opened), or null for the attempt's first. */
  readonly after: Pick<DecodedReview, 'revision' | 'id'> | null;
  readonly epoch: number;
  readonly epochPublicKey: CryptoKey;
  /** The author's member signing private key (KEY-CUSTODY §3). */
  readonly signingKey: CryptoKey;
  readonly content: ReviewContent;
}

/** What a reader expects, and where it finds the keys. */
export interface ReviewExpectation {
  readonly institution: string;
  readonly attempt: string;
  /** The record this one must follow directly (revision + 1, naming its id); null for revision 1. */
  readonly after?: Pick<DecodedReview, 'revision' | 'id'> | null;
  /** The newest revision the reader has seen before: anything older is a rollback. */
  readonly notBefore?: number | undefined;
  /** The author's signing public key (65 bytes) from a verified key registration or enrolment; null if unknown. */
  readonly authorKey: (author: string) => Uint8Array | null | Promise<Uint8Array | null>;
  /** The reader's epoch private key for `epoch`; null when it holds none. */
  readonly epochKey: (epoch: number) => CryptoKey | null | Promise<CryptoKey | null>;
}

const FIRST = new Uint8Array(REVIEW_ID_LENGTH);

function malformed(why: string): ExamVaultCryptoError {
  return new ExamVaultCryptoError('EV_ERR_REVIEW_MALFORMED', `malformed review record: ${why}`);
}

function encodeHead(h: ReviewHead): Uint8Array {
  return concat(REVIEW_MAGIC, new Uint8Array([VERSION]), str8(h.institution), str8(h.attempt), u32(h.revision), str8(h.author), u32(h.epoch), h.previous);
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bs(bytes)));
}

function checkContent(c: ReviewContent): void {
  if (!verdicts.includes(c.verdict)) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `verdict must be one of ${verdicts.join(', ')}`);
  if (typeof c.notes !== 'string' || c.notes.length > MAX_REVIEW_NOTES) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `notes are at most ${MAX_REVIEW_NOTES} characters`);
  if (!Number.isSafeInteger(c.time) || c.time < 0) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'time is milliseconds since the Unix epoch');
}

/** Seals and signs the next review record of an attempt. */
export async function sealReview(input: SealReviewInput): Promise<Uint8Array> {
  checkContent(input.content);
  if (input.after && (!Number.isInteger(input.after.revision) || input.after.revision < 1 || input.after.revision >= 0xffffffff || input.after.id.length !== REVIEW_ID_LENGTH)) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'after is not a review record');
  }
  const head = encodeHead({
    institution: checkId('institution', input.institution),
    attempt: checkId('attempt', input.attempt),
    author: checkId('author', input.author),
    epoch: checkEpoch(input.epoch),
    revision: input.after ? input.after.revision + 1 : 1,
    previous: input.after ? input.after.id : FIRST,
  });
  // Members in a fixed order, so the body has one encoding for given content.
  const body = utf8(JSON.stringify({ verdict: input.content.verdict, notes: input.content.notes, time: input.content.time }));
  const { enc, ct } = await hpke.seal({ recipientPublicKey: input.epochPublicKey, info: bs(concat(INFO_LABEL, head)) }, bs(body));
  const unsigned = concat(head, new Uint8Array(enc), u32(ct.byteLength), new Uint8Array(ct));
  return concat(unsigned, await sign(input.signingKey, concat(SIGNATURE_LABEL, unsigned)));
}

/** Cursor over the clear part of a record; every overrun is EV_ERR_REVIEW_MALFORMED. */
class Reader {
  offset = 0;
  constructor(private readonly b: Uint8Array) {}

  take(n: number, what: string): Uint8Array {
    if (this.offset + n > this.b.length) throw malformed(`it ends inside ${what}`);
    const out = this.b.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u32(what: string): number {
    return readU32(this.take(4, what), 0);
  }

  id(what: string): string {
    const len = this.take(1, what)[0] as number;
    const s = String.fromCharCode(...this.take(len, what));
    if (!idPattern.test(s)) throw malformed(`${what} is not an id`);
    return s;
  }
}

/** Splits a record into its head, sealed body and signature, without any key (what the server checks). */
function split(bytes: Uint8Array): { head: ReviewHead; enc: Uint8Array; ct: Uint8Array; unsigned: Uint8Array; signature: Uint8Array } {
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_REVIEW_RECORD) throw malformed(`a record is at most ${MAX_REVIEW_RECORD} bytes`);
  const r = new Reader(bytes);
  if (!constantTimeEqual(r.take(REVIEW_MAGIC.length, 'its magic'), REVIEW_MAGIC)) throw malformed('not a review record');
  const version = r.take(1, 'its version')[0];
  if (version !== VERSION) throw new ExamVaultCryptoError('EV_ERR_FORMAT_UNSUPPORTED_VERSION', `review record version ${String(version)} is not supported`);
  const institution = r.id('institution');
  const attempt = r.id('attempt');
  const revision = r.u32('revision');
  const author = r.id('author');
  const epoch = r.u32('epoch');
  const previous = r.take(REVIEW_ID_LENGTH, 'previous');
  if (revision < 1 || epoch < 1) throw malformed('revision and epoch start at 1');
  // Revision 1 follows nothing, and every later one follows something: one reading of `previous`.
  if ((revision === 1) !== constantTimeEqual(previous, FIRST)) throw malformed('previous is all zeros exactly for revision 1');
  const enc = r.take(ENC_LENGTH, 'enc');
  const ctLength = r.u32('the body length');
  if (ctLength < 16 || ctLength > MAX_REVIEW_BODY + 16) throw malformed('the sealed body is 16..65552 bytes');
  const ct = r.take(ctLength, 'the sealed body');
  const unsigned = bytes.subarray(0, r.offset);
  const signature = r.take(SIGNATURE_LENGTH, 'the signature');
  if (r.offset !== bytes.length) throw malformed('bytes follow the signature');
  return { head: { institution, attempt, revision, author, epoch, previous: previous.slice() }, enc, ct, unsigned, signature };
}

/** Parses a record's clear head and computes its id. Checks the framing only: no key, no signature. */
export async function decodeReview(bytes: Uint8Array): Promise<DecodedReview> {
  const { head, unsigned } = split(bytes);
  return { ...head, id: await sha256(unsigned), bytes };
}

/** Whether the record is signed by the holder of `signingPublicKey` (the server checks the author's registered key). */
export async function verifyReviewSignature(bytes: Uint8Array, signingPublicKey: Uint8Array): Promise<boolean> {
  const { unsigned, signature } = split(bytes);
  return verifySignature(await importSigningPublicKey(signingPublicKey), signature, concat(SIGNATURE_LABEL, unsigned));
}

const json = new JsonFields('EV_ERR_REVIEW_MALFORMED', 'review body');

function parseBody(body: Uint8Array): ReviewContent {
  const d = json.document(body, 'the body');
  json.onlyFields(d, ['verdict', 'notes', 'time'], 'the body');
  const verdict = verdicts.find((v) => v === d.verdict);
  if (!verdict) throw json.fail(`verdict must be one of ${verdicts.join(', ')}`);
  const notes = json.string(d, 'notes');
  if (notes.length > MAX_REVIEW_NOTES) throw json.fail(`notes are at most ${MAX_REVIEW_NOTES} characters`);
  return { verdict, notes, time: json.integer(d, 'time', 0, Number.MAX_SAFE_INTEGER) };
}

/**
 * Opens one record. In this order: the framing (EV_ERR_REVIEW_MALFORMED); that it is of the expected
 * institution and attempt (EV_ERR_REVIEW_BINDING_MISMATCH); that it follows `after` directly and is
 * not older than `notBefore` (EV_ERR_REVIEW_OUT_OF_ORDER); the author's signature under the key the
 * reader trusts for that author (EV_ERR_CUSTODY_UNKNOWN_SIGNER, EV_ERR_CUSTODY_SIGNATURE_INVALID);
 * the reader's key for the epoch (EV_ERR_REVIEW_NO_EPOCH_KEY); then the body
 * (EV_ERR_CRYPTO_DECRYPTION_FAILED, or EV_ERR_REVIEW_MALFORMED for a body of another shape).
 */
export async function openReview(bytes: Uint8Array, expect: ReviewExpectation): Promise<OpenedReview> {
  const { head, enc, ct, unsigned, signature } = split(bytes);
  if (head.institution !== expect.institution || head.attempt !== expect.attempt) {
    throw new ExamVaultCryptoError('EV_ERR_REVIEW_BINDING_MISMATCH', 'the review record is of another institution or attempt');
  }
  const id = await sha256(unsigned);
  if (expect.after !== undefined) {
    const follows = expect.after === null
      ? head.revision === 1
      : head.revision === expect.after.revision + 1 && constantTimeEqual(head.previous, expect.after.id);
    if (!follows) throw new ExamVaultCryptoError('EV_ERR_REVIEW_OUT_OF_ORDER', `revision ${head.revision} does not follow ${expect.after === null ? 'nothing' : `revision ${expect.after.revision}`}`);
  }
  if (expect.notBefore !== undefined && head.revision < expect.notBefore) {
    throw new ExamVaultCryptoError('EV_ERR_REVIEW_OUT_OF_ORDER', `revision ${head.revision} is older than revision ${expect.notBefore}, already seen`);
  }
  const authorKey = await expect.authorKey(head.author);
  if (!authorKey) throw new ExamVaultCryptoError('EV_ERR_CUSTODY_UNKNOWN_SIGNER', `no trusted signing key for ${head.author}`);
  if (!(await verifySignature(await importSigningPublicKey(authorKey), signature, concat(SIGNATURE_LABEL, unsigned)))) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_SIGNATURE_INVALID', `the review record is not signed by ${head.author}`);
  }
  const epochKey = await expect.epochKey(head.epoch);
  if (!epochKey) throw new ExamVaultCryptoError('EV_ERR_REVIEW_NO_EPOCH_KEY', `no key for epoch ${head.epoch}`);
  let body: Uint8Array;
  try {
    body = new Uint8Array(await hpke.open({ recipientKey: epochKey, enc: bs(enc), info: bs(concat(INFO_LABEL, encodeHead(head))) }, bs(ct)));
  } catch {
    throw new DecryptionFailedError();
  }
  return { ...head, id, bytes, content: parseBody(body) };
}

/**
 * Opens an attempt's whole history, which must be revisions 1, 2, … in order, each naming the one
 * before (EV_ERR_REVIEW_OUT_OF_ORDER otherwise), each opened as by openReview.
 */
export async function openReviewHistory(records: readonly Uint8Array[], expect: Omit<ReviewExpectation, 'after'>): Promise<OpenedReview[]> {
  const opened: OpenedReview[] = [];
  // Revision 1 is older than whatever the reader saw last: `notBefore` applies to the history's end.
  for (const bytes of records) opened.push(await openReview(bytes, { ...expect, notBefore: undefined, after: opened.at(-1) ?? null }));
  if (expect.notBefore !== undefined && (opened.at(-1)?.revision ?? 0) < expect.notBefore) {
    throw new ExamVaultCryptoError('EV_ERR_REVIEW_OUT_OF_ORDER', `the history ends before revision ${expect.notBefore}, already seen`);
  }
  return opened;
}

