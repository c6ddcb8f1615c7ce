/**
 * Which key the recorder seals to. GET /v1/custody/epoch names the institution's current epoch public
 * key, but the server's word is not enough (DESIGN "Key custody": a server substituting public keys
 * must be caught). The recorder seals only to a key that a signed `epoch` or `revocation` statement
 * (docs/KEY-CUSTODY.md §7.5) announces, signed by an admin it trusts:
 *
 * - admins named in the trust anchors (handoff.ts), or
 * - admins enrolled by a verified `admin-enrolment` statement in the same list, itself signed by the
 *   pinned recovery key (`root`) or by an admin already trusted.
 *
 * Statements are replayed in log order. A statement whose signer the recorder does not know is left
 * out (it proves nothing); one that fails its signature or framing condemns the whole answer, since
 * the server accepted it. The newest epoch a trusted statement announces must be exactly the epoch
 * and key served; anything else refuses to record rather than seal to an unproven key.
 */
import {
  type Signer,
  fromBase64Url,
  importPublicKey,
  verifyStatement,
} from '../../crypto/index.js';
import type { EpochResponse } from '../../protocol/custody.js';

export interface TrustAnchors {
  /** Admin id → the 65-byte signing public key the recorder trusts for that admin. */
  readonly admins: ReadonlyMap<string, Uint8Array>;
  /** The institution's recovery signing key (65 bytes), pinned: it may enrol admins. */
  readonly root?: Uint8Array;
}

export type EpochCheck =
  | { readonly ok: true; readonly epoch: number; readonly publicKey: CryptoKey; readonly publicKeyBytes: Uint8Array; readonly announcedBy: string }
  | { readonly ok: false; readonly reason: string };

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export async function checkEpochKey(served: EpochResponse, institution: string, anchors: TrustAnchors): Promise<EpochCheck> {
  if (served.institution !== institution) return { ok: false, reason: 'the server named another institution than this attempt\'s' };
  const servedKey = fromBase64Url(served.publicKey);
  if (!servedKey) return { ok: false, reason: 'the served epoch key is not valid base64url' };
  const admins = new Map(anchors.admins);
  const resolve = (signer: Signer): Uint8Array | undefined => {
    if (signer.kind === 'admin') return admins.get(signer.admin);
    if (signer.kind === 'recovery') return anchors.root;
    return undefined;
  };
  const announced = new Map<number, { key: Uint8Array; admin: string }>();
  for (const encoded of served.statements) {
    const signed = fromBase64Url(encoded);
    if (!signed) return { ok: false, reason: 'a served statement is not valid base64url' };
    const result = await verifyStatement(signed, resolve);
    if (!result.ok) {
      if (result.code === 'EV_ERR_CUSTODY_UNKNOWN_SIGNER') continue;
      return { ok: false, reason: `a served statement does not verify (${result.code})` };
    }
    const s = result.statement;
    if (s.institution !== institution) return { ok: false, reason: 'a served statement belongs to another institution' };
    if (s.type === 'admin-enrolment') admins.set(s.admin, s.signingPublicKey);
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
  return { ok: true, epoch: newest, publicKey: await importPublicKey(servedKey), publicKeyBytes: servedKey, announcedBy: proof.admin };
}
