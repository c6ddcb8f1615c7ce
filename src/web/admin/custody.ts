/**
 * The admin's hold on the institution's keys, in the page only (docs/WEB.md "The admin console"):
 *
 * - which epoch key is current is never the server's word alone: GET /v1/custody/epoch serves the
 *   signed chain from the recovery key, checked as the recorder checks it (recorder/epoch-trust.ts)
 *   from the recovery fingerprint this browser pinned at set-up (or on first use in another browser);
 * - the epoch private key comes from the admin's own grant, opened with the admin's unlocked HPKE key
 *   against that verified public key, and lives in memory only;
 * - the recovery key's public keys (for a revocation's recovery grant) come from the institution
 *   statement, which must carry the pinned fingerprint.
 */
import {
  type InstitutionStatement,
  fromBase64Url,
  memberFingerprint,
  toBase64Url,
  verified,
  verifyStatement,
} from '../../crypto/index.js';
import type { EpochResponse } from '../../protocol/custody.js';
import { checkEpochKey } from '../recorder/epoch-trust.js';
import { callJson } from '../shared/api.js';
import { type StoredStaffKeys, type UnlockedMemberKeys, openOwnGrant } from '../shared/staff-keys.js';
import type { StaffMe } from '../shared/staff-session.js';
import type { Announcer } from '../shared/live.js';
import { pin, readPin } from './pins.js';

/** A signed-in admin whose keys are unlocked: what every screen after sign-in works with. */
export interface Admin {
  readonly me: StaffMe;
  readonly stored: StoredStaffKeys;
  readonly keys: UnlockedMemberKeys;
  readonly main: HTMLElement;
  readonly live: Announcer;
}

export const rootPin = (institution: string) => `root:${institution}`;

/** The current epoch and its public key, proven along the signed chain from the pinned recovery key. */
export async function trustedEpoch(admin: Admin): Promise<{ epoch: number; publicKey: Uint8Array }> {
  const served = await callJson<EpochResponse>('/v1/custody/epoch');
  const pinned = await readPin(rootPin(admin.me.institution));
  const check = await checkEpochKey(served, admin.me.institution, { admins: new Map(), ...(pinned ? { rootFingerprint: pinned } : {}) }, { firstUse: pinned === undefined });
  if (!check.ok) throw new Error(`The institution's current key could not be proven, so nothing was done: ${check.reason}.`);
  if (check.rootFingerprint && !pinned) await pin(rootPin(admin.me.institution), check.rootFingerprint);
  return { epoch: check.epoch, publicKey: check.publicKeyBytes };
}

/** The current epoch's private key, from the admin's own grant. */
export async function currentEpochKey(admin: Admin): Promise<{ epoch: number; privateKey: CryptoKey }> {
  const { epoch, publicKey } = await trustedEpoch(admin);
  const mine = await callJson<{ grants: { epoch: number; grant: unknown }[] }>('/v1/custody/me/grant');
  const grant = mine.grants.find((g) => g.epoch === epoch);
  if (!grant) throw new Error(`You hold no key for the current epoch ${epoch}. Another admin must enrol you for it first.`);
  return { epoch, privateKey: await openOwnGrant(admin.keys, grant.grant, { epoch, epochPublicKey: publicKey }) };
}

/**
 * The recovery key's public keys from the institution statement the server serves, self-signed and
 * carrying the fingerprint pinned in this browser (pinned now if none was).
 */
export async function verifiedRecovery(admin: Admin): Promise<{ statement: InstitutionStatement; fingerprint: string }> {
  const served = await callJson<{ statement: string }>('/v1/custody/recovery');
  const signed = fromBase64Url(served.statement);
  if (!signed) throw new Error('The server sent a recovery statement that is not base64url.');
  const statement = verified(await verifyStatement(signed, (signer, s) => (signer.kind === 'recovery' && s.type === 'institution' ? s.signingPublicKey : null), 'institution'));
  if (statement.institution !== admin.me.institution) throw new Error('The server sent the recovery key of another institution.');
  const fingerprint = toBase64Url(await memberFingerprint(statement));
  const pinned = await pin(rootPin(admin.me.institution), fingerprint);
  if (pinned !== fingerprint) {
    throw new Error(`The server now names another recovery key (${fingerprint}) than the one this browser pinned (${pinned}). Nothing was done: tell your operator.`);
  }
  return { statement, fingerprint };
}
