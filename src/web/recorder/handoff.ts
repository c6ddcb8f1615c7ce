/**
 * How a recorder session begins: the test taker types a passcode (or pastes an attempt credential)
 * into the start form, or a sign-in page of this origin hands over what it got, through
 * `sessionStorage` under HANDOFF_KEY: same origin, this tab only, never in a URL (where it would reach
 * history, logs and Referer). The LTI launch page hands over its one-time code (`handoff`), which the
 * recorder exchanges at POST /v1/attempts/handoff. The hand-off is read once and removed.
 *
 * A hand-off may also carry the institution's trust anchors (epoch-trust.ts): the fingerprint of its
 * recovery keys (`rootFingerprint`), the signing keys of admins whose signed statements announce
 * epoch keys, and the audit log's verifier key (`logKey`), as the institution published them.
 */
import { fromBase64Url, toBase64Url } from '../../crypto/index.js';
import type { TrustAnchors } from './epoch-trust.js';

export const HANDOFF_KEY = 'examvault.recorder.handoff';

/** `ev1.<region>.<43 base64url characters>`, as `examvault attempts issue` prints it. */
export const credentialPattern = /^ev1\.[a-z][a-z0-9-]{1,15}\.[A-Za-z0-9_-]{43}$/;

/** The LTI launch page's one-time code (`evk1.…`, docs/LTI.md). */
const handoffCodePattern = /^[A-Za-z0-9._-]{8,200}$/;

export interface Handoff {
  readonly credential?: string;
  /** A one-time hand-off code, to exchange for the credential. */
  readonly code?: string;
  readonly trust: TrustAnchors;
}

interface HandoffJson {
  credential?: unknown;
  handoff?: unknown;
  trust?: { admins?: Record<string, unknown>; root?: unknown; rootFingerprint?: unknown; logKey?: unknown };
}

/** Removes spaces and line breaks a copy and paste may add; null when it is not a credential. */
export function normaliseCredential(text: string): string | null {
  const t = text.replace(/\s+/g, '');
  return credentialPattern.test(t) ? t : null;
}

export function anchorsFromJson(json: HandoffJson['trust']): TrustAnchors {
  const admins = new Map<string, Uint8Array>();
  for (const [id, key] of Object.entries(json?.admins ?? {})) {
    const bytes = typeof key === 'string' ? fromBase64Url(key) : null;
    if (bytes) admins.set(id, bytes);
  }
  const root = typeof json?.root === 'string' ? fromBase64Url(json.root) : null;
  const fingerprint = typeof json?.rootFingerprint === 'string' && fromBase64Url(json.rootFingerprint)?.length === 32 ? json.rootFingerprint : null;
  // Only shaped here: log-proof.ts parses it and refuses a key that is not one.
  const logKey = typeof json?.logKey === 'string' && json.logKey.length <= 1024 ? json.logKey : null;
  return { admins, ...(root ? { root } : {}), ...(fingerprint ? { rootFingerprint: fingerprint } : {}), ...(logKey ? { logKey } : {}) };
}

export function anchorsToJson(anchors: TrustAnchors): HandoffJson['trust'] {
  return {
    admins: Object.fromEntries([...anchors.admins].map(([id, key]) => [id, toBase64Url(key)])),
    ...(anchors.root ? { root: toBase64Url(anchors.root) } : {}),
    ...(anchors.rootFingerprint ? { rootFingerprint: anchors.rootFingerprint } : {}),
    ...(anchors.logKey ? { logKey: anchors.logKey } : {}),
  };
}

export function takeHandoff(storage: Storage = sessionStorage): Handoff {
  const raw = storage.getItem(HANDOFF_KEY);
  storage.removeItem(HANDOFF_KEY);
  if (!raw) return { trust: { admins: new Map() } };
  let parsed: HandoffJson;
  try {
    parsed = JSON.parse(raw) as HandoffJson;
  } catch {
    return { trust: { admins: new Map() } };
  }
  const credential = typeof parsed.credential === 'string' ? normaliseCredential(parsed.credential) : null;
  const code = typeof parsed.handoff === 'string' && handoffCodePattern.test(parsed.handoff) ? parsed.handoff : null;
  return { ...(credential ? { credential } : {}), ...(code ? { code } : {}), trust: anchorsFromJson(parsed.trust) };
}
