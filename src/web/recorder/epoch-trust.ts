/**
 * Which key the recorder seals to. GET /v1/custody/epoch names the institution's current epoch public
 * key, but the server's word is not enough (DESIGN "Key custody": a server substituting public keys
 * must be caught). The recorder seals only to a key that a signed `epoch` or `revocation` statement
 * (docs/KEY-CUSTODY.md §7.5) announces, signed by an admin it trusts, along the chain the server
 * serves with the key:
 *
 *   institution statement (self-signed by the recovery key) → admin-enrolments (signed by the
 *   recovery key or an admin already trusted) → epoch / revocation statements (signed by an admin).
 *
 * The root is the recovery key. The recorder knows it by its fingerprint (the one the admin's client
 * shows at set-up): given by a sign-in page, pinned by this browser on first use, or, failing both,
 * taken from the served institution statement on first use when the caller allows it (docs/WEB.md
 * "Which key the recorder trusts" says what that does and does not protect against). Admins named in
 * the trust anchors are trusted directly.
 *
 * Statements are replayed in log order. A statement whose signer the recorder does not know is left
 * out (it proves nothing); one that fails its signature or framing condemns the whole answer, since
 * the server accepted it, and so does an institution statement naming another recovery key than the
 * pinned one. A revocation naming a trusted admin ends that admin's trust for later statements. The
 * newest epoch a trusted statement announces must be exactly the epoch and key served; anything else
 * refuses to record rather than seal to an unproven key.
 */
import {
  type Signer,
  type Statement,
  fromBase64Url,
  importPublicKey,
  memberFingerprint,
  toBase64Url,
  verifyStatement,
} from '../../crypto/index.js';
import type { EpochResponse } from '../../protocol/custody.js';

export interface TrustAnchors {
  /** Admin id → the 65-byte signing public key the recorder trusts for that admin. */
  readonly admins: ReadonlyMap<string, Uint8Array>;
  /** The institution's recovery signing key (65 bytes), pinned: it may enrol admins. */
  readonly root?: Uint8Array;
  /** base64url SHA-256 fingerprint of the recovery keys (as GET /v1/custody/recovery and the set-up show it). */
  readonly rootFingerprint?: string;
  /** The audit log's verifier key line (docs/AUDIT-LOG.md), as the institution published it (log-proof.ts). */
  readonly logKey?: string;
}

export interface TrustOptions {
  /**
   * With no root or fingerprint known, take the served institution statement's recovery key as the
   * root (trust on first use). The result's `rootFingerprint` is then what to pin.
   */
  readonly firstUse?: boolean;
}

export type EpochCheck =
  | {
      readonly ok: true;
      readonly epoch: number;
      readonly publicKey: CryptoKey;
      readonly publicKeyBytes: Uint8Array;
      readonly announcedBy: string;
      /** Admin id → signing public key, for every admin still trusted at the end of the chain. */
      readonly admins: ReadonlyMap<string, Uint8Array>;
      /** The fingerprint of the recovery keys the chain started from, when it started from an institution statement. */
      readonly rootFingerprint?: string;
    }
  | { readonly ok: false; readonly reason: string };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export async function checkEpochKey(served: Pick<EpochResponse, 'institution' | 'epoch' | 'publicKey' | 'statements'>, institution: string, anchors: TrustAnchors, options: TrustOptions = {}): Promise<EpochCheck> {
  if (served.institution !== institution) return { ok: false, reason: 'the server named another institution than this attempt\'s' };
  const servedKey = fromBase64Url(served.publicKey);
  if (!servedKey) return { ok: false, reason: 'the served epoch key is not valid base64url' };
  const admins = new Map(anchors.admins);
  let root = anchors.root;
  let rootFingerprint: string | undefined;
  let foreignRoot = false;
  const rootKnown = root !== undefined || anchors.rootFingerprint !== undefined;
  // An institution statement carries the key that signs it: it becomes the root only if that key is the pinned one.
  const carriedRoot = async (statement: Extract<Statement, { type: 'institution' }>): Promise<Uint8Array | undefined> => {
    const fingerprint = toBase64Url(await memberFingerprint(statement));
    const accepted = root
      ? sameBytes(root, statement.signingPublicKey)
      : anchors.rootFingerprint !== undefined ? fingerprint === anchors.rootFingerprint : options.firstUse === true;
    if (!accepted) {
      foreignRoot = rootKnown || rootFingerprint !== undefined;
      return undefined;
    }
    rootFingerprint = fingerprint;
    return statement.signingPublicKey;
  };
  const resolve = (signer: Signer, statement: Statement): Uint8Array | undefined | Promise<Uint8Array | undefined> => {
    if (signer.kind === 'admin') return admins.get(signer.admin);
    if (signer.kind !== 'recovery') return undefined;
    return statement.type === 'institution' ? carriedRoot(statement) : root;
  };
  const announced = new Map<number, { key: Uint8Array; admin: string }>();
  for (const encoded of served.statements) {
    const signed = fromBase64Url(encoded);
    if (!signed) return { ok: false, reason: 'a served statement is not valid base64url' };
    const result = await verifyStatement(signed, resolve);
    if (foreignRoot) return { ok: false, reason: 'the served institution statement names another recovery key than the one this recorder trusts' };
    if (!result.ok) {
      if (result.code === 'EV_ERR_CUSTODY_UNKNOWN_SIGNER') continue;
      return { ok: false, reason: `a served statement does not verify (${result.code})` };
    }
    const s = result.statement;
    if (s.institution !== institution) return { ok: false, reason: 'a served statement belongs to another institution' };
    if (s.type === 'institution') root = s.signingPublicKey;
    if (s.type === 'admin-enrolment') admins.set(s.admin, s.signingPublicKey);
    if (s.type === 'revocation') admins.delete(s.reviewer);
    if (s.type === 'epoch' || s.type === 'revocation') {
      const earlier = announced.get(s.epoch);
      if (earlier && !sameBytes(earlier.key, s.epochPublicKey)) return { ok: false, reason: `two different keys are announced for epoch ${s.epoch}` };
      announced.set(s.epoch, { key: s.epochPublicKey, admin: s.admin });
    }
  }
  if (announced.size === 0) return { ok: false, reason: 'no statement signed by an admin this recorder trusts announces an epoch key' };
  const newest = Math.max(...announced.keys());
  const proof = announced.get(newest) as { key: Uint8Array; admin: string };
  if (served.epoch !== newest) return { ok: false, reason: `the server says epoch ${served.epoch} is current, but the newest trusted statement announces epoch ${newest}` };
  if (!sameBytes(proof.key, servedKey)) return { ok: false, reason: `the served key for epoch ${newest} is not the one its statement announces` };
  return {
    ok: true, epoch: newest, publicKey: await importPublicKey(servedKey), publicKeyBytes: servedKey, announcedBy: proof.admin, admins,
    ...(rootFingerprint ? { rootFingerprint } : {}),
  };
}
