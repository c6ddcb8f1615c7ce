/**
 * Case bundles (docs/SPEC.md §12): a reviewer's export of one attempt's recordings, which the
 * reviewer opens later, offline, with nothing but their own member keys (`examvault open`).
 *
 * The recordings travel as the sealed files they are (SPEC §7), untouched: every segment stays bound
 * to its recording and context. Only the data keys are new: each is sealed with HPKE to the member's
 * own HPKE public key, bound to the institution, the member, the fingerprint of their keys and the
 * hash of that recording's header. A signed manifest lists the items with their sizes and SHA-256, so
 * the member's signature covers the whole bundle: nothing can be added, dropped, reordered or
 * swapped, and a bundle made by anyone else (a server knows the member's public keys and could seal
 * to them) does not verify. The epoch key is never in a bundle: a bundle opens its own recordings only.
 */
import { bs, concat, constantTimeEqual, readU32, str8, toBase64Url, u32, utf8 } from './bytes.js';
import { idPattern, tracks, type RecordingContext } from './context.js';
import { importPublicKey } from './epoch-key.js';
import { DecryptionFailedError, ExamVaultCryptoError } from './errors.js';
import { ENC_LENGTH, decodeHeader, type Header } from './header.js';
import { hpke } from './hpke.js';
import { JsonFields, type JsonObject } from './json-fields.js';
import { type RecordingOpener, openRecordingWithDataKey } from './recording.js';
import { MEMBER_FINGERPRINT_LENGTH, type MemberPublicKeys, memberFingerprint } from './custody/member-keys.js';
import { SIGNATURE_LENGTH, importSigningPublicKey, sign, verifySignature } from './custody/signing-key.js';
import { createOpenStream } from './stream.js';

/** "EVCASE": what a reader looks for before anything else. */
export const CASE_MAGIC = utf8('EVCASE');
const VERSION = 1;
/** magic ‖ version ‖ manifest length. */
const PREFIX_LENGTH = CASE_MAGIC.length + 1 + 4;
export const MAX_CASE_MANIFEST = 64 * 1024;
export const MAX_CASE_ITEMS = 256;
const SEALED_DEK_LENGTH = 32 + 16;
const SIGNATURE_LABEL = utf8('examvault/v1/case-bundle');
const KEY_LABEL = utf8('examvault/v1/case-key');

export interface CaseItemInput {
  /** A whole sealed recording file (SPEC §7). */
  readonly sealed: Uint8Array;
  /** Its 32-byte data key, as the exporter's client unwrapped it. */
  readonly dataKey: Uint8Array;
}

export interface CaseBundleInput {
  readonly institution: string;
  readonly exam: string;
  readonly attempt: string;
  /** The member who exports, and for whom: their keys seal the data keys and sign the manifest. */
  readonly member: string;
  readonly keys: MemberPublicKeys;
  readonly signingKey: CryptoKey;
  readonly items: readonly CaseItemInput[];
  /** Milliseconds since the Unix epoch; defaults to now. */
  readonly createdAt?: number;
}

export interface CaseManifestItem {
  readonly recording: string;
  readonly track: RecordingContext['track'];
  readonly size: number;
  readonly sha256: string;
  readonly enc: string;
  readonly wrappedKey: string;
}

export interface CaseManifest {
  readonly format: 'examvault-case';
  readonly version: 1;
  readonly institution: string;
  readonly exam: string;
  readonly attempt: string;
  readonly member: string;
  readonly fingerprint: string;
  readonly createdAt: number;
  readonly items: readonly CaseManifestItem[];
}

/** One recording of an opened bundle: its verified context and a stream of its verified plaintext. */
export interface CaseItem {
  readonly context: RecordingContext;
  readonly header: Header;
  /** The plaintext; it errors (and must be discarded) if any segment fails to authenticate. */
  plaintext(): ReadableStream<Uint8Array>;
}

export interface OpenedCase {
  readonly manifest: CaseManifest;
  readonly items: readonly CaseItem[];
}

/** The recipient's identity and HPKE private key; `keys` come from their own registration. */
export interface CaseRecipient {
  readonly member: string;
  readonly keys: MemberPublicKeys;
  readonly hpkePrivateKey: CryptoKey;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bs(bytes)));
}

async function keyInfo(institution: string, member: string, fingerprint: Uint8Array, header: Header): Promise<Uint8Array> {
  return concat(KEY_LABEL, str8(institution), str8(member), fingerprint, await sha256(header.bytes));
}

function toBeSigned(manifest: Uint8Array): Uint8Array {
  return concat(SIGNATURE_LABEL, u32(manifest.length), manifest);
}

function sameCase(h: Header, m: { institution: string; exam: string; attempt: string }): boolean {
  return h.context.institution === m.institution && h.context.exam === m.exam && h.context.attempt === m.attempt;
}

/** Makes a bundle of one attempt's recordings for `input.member`. Each data key is checked against its header first. */
export async function createCaseBundle(input: CaseBundleInput): Promise<Uint8Array> {
  if (input.items.length < 1 || input.items.length > MAX_CASE_ITEMS) {
    throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', `a case bundle holds 1..${MAX_CASE_ITEMS} recordings`);
  }
  const fingerprint = await memberFingerprint(input.keys);
  const recipient = await importPublicKey(input.keys.hpkePublicKey);
  const items: CaseManifestItem[] = [];
  for (const item of input.items) {
    const header = decodeHeader(item.sealed);
    if (!sameCase(header, input)) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'every recording of a case bundle is of its institution, exam and attempt');
    // A wrong data key would make a bundle nobody can open: refuse it here (the header commits to it).
    await openRecordingWithDataKey(header, item.dataKey);
    const { enc, ct } = await hpke.seal({ recipientPublicKey: recipient, info: bs(await keyInfo(input.institution, input.member, fingerprint, header)) }, bs(item.dataKey));
    items.push({
      recording: header.context.recording,
      track: header.context.track,
      size: item.sealed.length,
      sha256: toBase64Url(await sha256(item.sealed)),
      enc: toBase64Url(new Uint8Array(enc)),
      wrappedKey: toBase64Url(new Uint8Array(ct)),
    });
  }
  const manifest: CaseManifest = {
    format: 'examvault-case',
    version: 1,
    institution: input.institution,
    exam: input.exam,
    attempt: input.attempt,
    member: input.member,
    fingerprint: toBase64Url(fingerprint),
    createdAt: input.createdAt ?? Date.now(),
    items,
  };
  const manifestBytes = utf8(JSON.stringify(manifest));
  if (manifestBytes.length > MAX_CASE_MANIFEST) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_ARGUMENT', 'the case manifest is too large');
  const signature = await sign(input.signingKey, toBeSigned(manifestBytes));
  return concat(CASE_MAGIC, new Uint8Array([VERSION]), u32(manifestBytes.length), manifestBytes, signature, ...input.items.map((i) => i.sealed));
}

/** Whether bytes start like a case bundle (to tell one from a sealed recording, which starts "EVSEAL"). */
export function isCaseBundle(bytes: Uint8Array): boolean {
  return bytes.length >= CASE_MAGIC.length && constantTimeEqual(bytes.subarray(0, CASE_MAGIC.length), CASE_MAGIC);
}

const json = new JsonFields('EV_ERR_CASE_MALFORMED', 'case bundle');

function id(obj: JsonObject, name: string): string {
  const v = json.string(obj, name);
  if (!idPattern.test(v)) throw json.fail(`${name} must be an id`);
  return v;
}

/** A manifest item with its byte strings decoded. */
interface ParsedItem {
  readonly item: CaseManifestItem;
  readonly sha256: Uint8Array;
  readonly enc: Uint8Array;
  readonly wrappedKey: Uint8Array;
}

function parseManifest(bytes: Uint8Array): { manifest: CaseManifest; fingerprint: Uint8Array; items: ParsedItem[] } {
  const d = json.document(bytes, 'the manifest');
  json.onlyFields(d, ['format', 'version', 'institution', 'exam', 'attempt', 'member', 'fingerprint', 'createdAt', 'items'], 'the manifest');
  json.constant(d, 'format', 'examvault-case');
  json.constant(d, 'version', 1);
  if (!Array.isArray(d.items) || d.items.length < 1 || d.items.length > MAX_CASE_ITEMS) throw json.fail(`items must be 1..${MAX_CASE_ITEMS} recordings`);
  const items = (d.items as unknown[]).map((v): ParsedItem => {
    const i = json.object(v, 'an item');
    json.onlyFields(i, ['recording', 'track', 'size', 'sha256', 'enc', 'wrappedKey'], 'an item');
    const track = tracks.find((t) => t === i.track);
    if (!track) throw json.fail(`track must be one of ${tracks.join(', ')}`);
    const parsed = { sha256: json.bytes(i, 'sha256', 32), enc: json.bytes(i, 'enc', ENC_LENGTH), wrappedKey: json.bytes(i, 'wrappedKey', SEALED_DEK_LENGTH) };
    const item: CaseManifestItem = {
      recording: id(i, 'recording'),
      track,
      size: json.integer(i, 'size', 1, Number.MAX_SAFE_INTEGER),
      sha256: toBase64Url(parsed.sha256),
      enc: toBase64Url(parsed.enc),
      wrappedKey: toBase64Url(parsed.wrappedKey),
    };
    return { item, ...parsed };
  });
  const fingerprint = json.bytes(d, 'fingerprint', MEMBER_FINGERPRINT_LENGTH);
  const manifest: CaseManifest = {
    format: 'examvault-case',
    version: 1,
    institution: id(d, 'institution'),
    exam: id(d, 'exam'),
    attempt: id(d, 'attempt'),
    member: id(d, 'member'),
    fingerprint: toBase64Url(fingerprint),
    createdAt: json.integer(d, 'createdAt', 0, Number.MAX_SAFE_INTEGER),
    items: items.map((i) => i.item),
  };
  return { manifest, fingerprint, items };
}

/**
 * Opens a case bundle for its member. In this order: the framing, the manifest's shape, that it is for
 * this member and these keys (EV_ERR_CUSTODY_BINDING_MISMATCH), the member's signature over it
 * (EV_ERR_CUSTODY_SIGNATURE_INVALID), each item's size and SHA-256, that each header is of the
 * manifest's case and recording, and each data key (EV_ERR_CRYPTO_DECRYPTION_FAILED for anything that
 * does not authenticate). The plaintexts are then read, and authenticated segment by segment, from
 * each item's `plaintext()` stream.
 */
export async function openCaseBundle(bundle: Uint8Array, recipient: CaseRecipient): Promise<OpenedCase> {
  if (!isCaseBundle(bundle)) throw new ExamVaultCryptoError('EV_ERR_FORMAT_BAD_MAGIC', 'not a case bundle');
  if (bundle.length < PREFIX_LENGTH) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'the case bundle ends inside its prefix');
  const version = bundle[CASE_MAGIC.length];
  if (version !== VERSION) throw new ExamVaultCryptoError('EV_ERR_FORMAT_UNSUPPORTED_VERSION', `case bundle version ${String(version)} is not supported`);
  const manifestLength = readU32(bundle, CASE_MAGIC.length + 1);
  if (manifestLength > MAX_CASE_MANIFEST) throw json.fail(`the manifest is larger than ${MAX_CASE_MANIFEST} bytes`);
  const itemsAt = PREFIX_LENGTH + manifestLength + SIGNATURE_LENGTH;
  if (bundle.length < itemsAt) throw new ExamVaultCryptoError('EV_ERR_FORMAT_TRUNCATED', 'the case bundle ends inside its manifest or signature');
  const manifestBytes = bundle.subarray(PREFIX_LENGTH, PREFIX_LENGTH + manifestLength);
  const { manifest, fingerprint: named, items: parsed } = parseManifest(manifestBytes);

  const fingerprint = await memberFingerprint(recipient.keys);
  if (manifest.member !== recipient.member || !constantTimeEqual(named, fingerprint)) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_BINDING_MISMATCH', 'the case bundle was made for another member or other keys');
  }
  const signature = bundle.subarray(PREFIX_LENGTH + manifestLength, itemsAt);
  if (!(await verifySignature(await importSigningPublicKey(recipient.keys.signingPublicKey), signature, toBeSigned(manifestBytes)))) {
    throw new ExamVaultCryptoError('EV_ERR_CUSTODY_SIGNATURE_INVALID', 'the case bundle\'s manifest is not signed by the member\'s key');
  }
  const total = manifest.items.reduce((n, i) => n + i.size, 0);
  if (bundle.length !== itemsAt + total) {
    throw new ExamVaultCryptoError(bundle.length < itemsAt + total ? 'EV_ERR_FORMAT_TRUNCATED' : 'EV_ERR_FORMAT_TRAILING_DATA',
      `the case bundle holds ${bundle.length - itemsAt} bytes of recordings, its manifest ${total}`);
  }

  const items: CaseItem[] = [];
  let offset = itemsAt;
  for (const { item: entry, ...bytes } of parsed) {
    const sealed = bundle.subarray(offset, offset + entry.size);
    offset += entry.size;
    if (!constantTimeEqual(await sha256(sealed), bytes.sha256)) throw new DecryptionFailedError();
    const header = decodeHeader(sealed);
    if (!sameCase(header, manifest) || header.context.recording !== entry.recording || header.context.track !== entry.track) {
      throw json.fail(`the recording ${entry.recording} is not the one the manifest names`);
    }
    let dataKey: Uint8Array;
    try {
      dataKey = new Uint8Array(await hpke.open({
        recipientKey: recipient.hpkePrivateKey,
        enc: bs(bytes.enc),
        info: bs(await keyInfo(manifest.institution, manifest.member, fingerprint, header)),
      }, bs(bytes.wrappedKey)));
    } catch {
      throw new DecryptionFailedError();
    }
    let opener: RecordingOpener;
    try {
      opener = await openRecordingWithDataKey(header, dataKey);
    } finally {
      dataKey.fill(0);
    }
    items.push({
      context: header.context,
      header,
      plaintext: () => new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(sealed);
          controller.close();
        },
      }).pipeThrough(createOpenStream(() => Promise.resolve(opener))),
    });
  }
  return { manifest, items };
}
