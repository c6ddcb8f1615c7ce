/**
 * Recovery with the institution's recovery key (docs/CUSTODY-SERVER.md "The recovery key"), for an
 * admin whose keys are registered but whom no enrolled admin is left to enrol. The recovery key's
 * holder types it into this admin's console:
 *
 * 1. the key's checksum catches a typo (`parseRecoveryKey`), and the recovery keys are derived from it;
 * 2. the current epoch key is proven along the signed chain from exactly this recovery key (the typed
 *    key is the root: a server serving another institution statement is refused), and the recovery
 *    key's own grant for that epoch opens it;
 * 3. `createRecoveryEnrolment` (src/crypto) signs the enrolment of this admin's registered keys with the
 *    recovery key and seals the epoch key to them: `POST /v1/custody/recovery/admins`.
 *
 * The recovery secret lives only for this call; its bytes are wiped.
 */
import {
  createRecoveryEnrolment,
  deriveRecoveryKeys,
  memberFingerprint,
  openGrant,
  parseRecoveryKey,
  toBase64Url,
} from '../../crypto/index.js';
import type { AdminEnrolmentRequest, EpochResponse } from '../../protocol/custody.js';
import { checkEpochKey } from '../recorder/epoch-trust.js';
import { callJson } from '../shared/api.js';
import { staffJson } from '../shared/staff-session.js';
import { type Admin, rootPin } from './custody.js';
import { pin } from './pins.js';

export async function enrolWithRecoveryKey(admin: Admin, typed: string): Promise<number> {
  const secret = await parseRecoveryKey(typed);
  try {
    const recovery = await deriveRecoveryKeys(secret);
    const fingerprint = toBase64Url(await memberFingerprint(recovery));
    const served = await callJson<EpochResponse>('/v1/custody/epoch');
    const check = await checkEpochKey(served, admin.me.institution, { admins: new Map(), rootFingerprint: fingerprint });
    if (!check.ok) throw new Error(`This recovery key does not lead to the institution's current key: ${check.reason}.`);
    const { grants } = await callJson<{ grants: { epoch: number; grant: unknown }[] }>('/v1/custody/recovery');
    const grant = grants.find((g) => g.epoch === check.epoch);
    if (!grant) throw new Error(`The server holds no copy of epoch ${check.epoch}'s key for the recovery key.`);
    const epochPrivateKey = await openGrant(grant.grant, { institution: admin.me.institution, epoch: check.epoch, epochPublicKey: check.publicKeyBytes },
      { kind: 'recovery', keys: recovery }, recovery.hpke.privateKey);
    const made = await createRecoveryEnrolment({
      institution: admin.me.institution, admin: admin.me.staffId, adminKeys: admin.keys.registration, recovery, epoch: check.epoch, epochPrivateKey,
    });
    const body: AdminEnrolmentRequest = { enrolment: toBase64Url(made.enrolment), grants: [made.grant] };
    await staffJson(admin.me, '/v1/custody/recovery/admins', { method: 'POST', json: body });
    const pinned = await pin(rootPin(admin.me.institution), fingerprint);
    if (pinned !== fingerprint) throw new Error('This browser had pinned another recovery key for the institution. Tell your operator.');
    return check.epoch;
  } finally {
    secret.fill(0);
  }
}
