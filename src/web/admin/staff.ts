/**
 * Reviewers and admins (docs/KEY-CUSTODY.md §7, §9, docs/CUSTODY-SERVER.md): invite reviewers, approve
 * them by safety number, revoke them; enrol another admin the same way. Every approval, enrolment and
 * revocation is made and signed in this page; the server only stores it.
 *
 * Approval: the page computes the reviewer's safety number from the registration the server served
 * (verified, self-signed, of this institution) and asks the admin to type the number the reviewer
 * reads out from their own screen. `approveReviewer` (src/crypto) refuses a number that differs,
 * before anything is made: keys a server substituted show another number, and nothing is granted.
 *
 * Revocation: a new epoch key pair is made here, the revocation signed and its key granted to the
 * pinned recovery key (src/crypto `createRevocation`, as `examvault custody revoke` does), then to
 * this admin (an approval of its own keys). Other reviewers need a grant for the new epoch: they show
 * as "approval needed" again and are approved the same way.
 */
import {
  SIGNATURE_LENGTH,
  approveReviewer,
  createRevocation,
  decodeStatement,
  enrolAdminKeys,
  exportPublicKey,
  fromBase64Url,
  generateEpochKeyPair,
  reviewRegistration,
  toBase64Url,
} from '../../crypto/index.js';
import type { AdminEnrolmentRequest, CustodyMember, GrantRequest, RevocationRequest } from '../../protocol/custody.js';
import type { StaffInviteCreated } from '../../protocol/staff.js';
import { callJson } from '../shared/api.js';
import { button, el, showScreen } from '../shared/dom.js';
import { identityOf } from '../shared/staff-keys.js';
import { staffJson } from '../shared/staff-session.js';
import { type Admin, currentEpochKey, trustedEpoch, verifiedRecovery } from './custody.js';
import { APP, actionForm, field, submit, table } from './ui.js';

function registrationOf(m: CustodyMember): Uint8Array {
  const bytes = fromBase64Url(m.registration);
  if (!bytes) throw new Error(`The server sent a registration for ${m.member} that is not base64url.`);
  return bytes;
}

/** Signs the approval and grant of `registration` at the current epoch, and stores them. */
async function approve(admin: Admin, registration: Uint8Array, confirmedSafetyNumber: string, epochKey: { epoch: number; privateKey: CryptoKey }): Promise<void> {
  const approved = await approveReviewer({
    registration,
    confirmedSafetyNumber,
    institution: admin.me.institution,
    epoch: epochKey.epoch,
    epochPrivateKey: epochKey.privateKey,
    admin: admin.me.staffId,
    adminSigningKey: admin.keys.signingPrivateKey,
  });
  const body: GrantRequest = { grant: approved.grant, approval: toBase64Url(approved.approval) };
  await staffJson(admin.me, '/v1/custody/grants', { method: 'POST', json: body });
}

export async function reviewersScreen(admin: Admin): Promise<void> {
  const { main, live, me } = admin;
  const [{ reviewers }, { epoch }] = await Promise.all([
    callJson<{ reviewers: CustodyMember[] }>('/v1/custody/reviewers'),
    trustedEpoch(admin),
  ]);
  const inviteResult = el('div', { id: 'invite-result' });
  const rows = reviewers.map((r) => {
    // An approval for an older epoch does not open today's recordings: the reviewer needs the current one.
    const current = r.status === 'approved' && r.approvals.some((a) => approvalEpoch(a) === epoch);
    const status = r.status === 'revoked' ? 'Revoked' : current ? `Approved (epoch ${epoch})` : 'Approval needed';
    const actions = el('div', { class: 'row-actions' },
      r.status !== 'revoked' && !current ? button(`Compare and approve ${r.member}`, () => void approveScreen(admin, r)) : null,
      r.status === 'approved' ? button(`Revoke ${r.member}`, () => revokeScreen(admin, r), { class: 'secondary' }) : null,
    );
    return [r.member, status, actions];
  });
  showScreen(main, 'Reviewers', APP,
    el('p', {}, `Reviewers watch recordings. A reviewer can open a recording only after an admin approved their keys for the current epoch (${epoch}).`),
    reviewers.length === 0 ? el('p', {}, 'No reviewer has registered keys yet.') : table('Reviewers and their status', ['Reviewer', 'Status', 'Actions'], rows),
    el('h2', {}, 'Invite a reviewer'),
    el('p', {}, 'A setup link works once, for 24 hours. Send it to the reviewer through a channel you trust.'),
    actionForm(live, 'Creating a setup link…', async () => {
      const created = await staffJson<StaffInviteCreated>(me, '/v1/staff/invites', { method: 'POST', json: { role: 'reviewer' } });
      inviteResult.replaceChildren(
        el('p', {}, 'Setup link for the new reviewer (shown only now):'),
        el('p', { class: 'secret', id: 'invite-link' }, created.setupUrl),
      );
      return 'A setup link for a reviewer is ready below.';
    }, el('div', { class: 'actions' }, submit('Create a reviewer setup link'))),
    inviteResult,
  );
}

/**
 * The epoch an approval names, for the list's status only: decoded, not verified (the admin's own
 * approval is what counts, and it is made and checked in this page when it matters).
 */
function approvalEpoch(encoded: string): number | null {
  const signed = fromBase64Url(encoded);
  if (!signed || signed.length <= SIGNATURE_LENGTH) return null;
  try {
    const s = decodeStatement(signed.subarray(0, signed.length - SIGNATURE_LENGTH));
    return s.type === 'approval' ? s.epoch : null;
  } catch {
    return null;
  }
}

/**
 * Shows the safety number of `member`'s registration as computed here and asks the admin to type the
 * number the member reads out; `confirm` gets what was typed and must refuse a number that differs
 * before anything is made (approveReviewer and enrolAdminKeys do).
 */
async function compareScreen(admin: Admin, member: CustodyMember, words: { title: string; verb: string; back: () => void },
  confirm: (registration: Uint8Array, typed: string) => Promise<string>): Promise<void> {
  const registration = registrationOf(member);
  const { safetyNumber } = await reviewRegistration(registration, admin.me.institution);
  const typed = field('typed-safety-number', `Safety number ${member.member} reads out`, { inputmode: 'numeric' },
    'Type all 40 digits as they read them from their own screen. Spaces do not matter.');
  showScreen(admin.main, words.title, APP,
    el('p', {}, `Before you ${words.verb.toLowerCase()}, make sure these keys are really theirs. Call them or meet them, and ask them to read out the safety number on their own screen.`),
    el('h2', {}, 'The safety number this page computed'),
    el('p', { class: 'safety-number', id: 'expected-safety-number' }, safetyNumber),
    el('p', {}, `If the numbers differ in any digit, do not ${words.verb.toLowerCase()}: someone may have swapped the keys.`),
    actionForm(admin.live, 'Checking the number…', () => confirm(registration, typed.input.value),
      typed.wrap, el('div', { class: 'actions' }, submit(words.verb), button('Back', words.back, { class: 'secondary' }))),
  );
}

function approveScreen(admin: Admin, reviewer: CustodyMember): Promise<void> {
  return compareScreen(admin, reviewer, { title: `Approve reviewer ${reviewer.member}`, verb: 'Approve', back: () => void reviewersScreen(admin) }, async (registration, typed) => {
    const epochKey = await currentEpochKey(admin);
    await approve(admin, registration, typed, epochKey);
    await reviewersScreen(admin);
    return `Reviewer ${reviewer.member} is approved for epoch ${epochKey.epoch}.`;
  });
}

export async function adminsScreen(admin: Admin): Promise<void> {
  const { admins } = await callJson<{ admins: CustodyMember[] }>('/v1/custody/admins');
  const rows = admins.map((a) => {
    const you = a.member === admin.me.staffId;
    const status = a.status === 'approved' ? 'Enrolled' : a.status === 'revoked' ? 'Revoked' : 'Enrolment needed';
    const action = !you && a.status === 'pending'
      ? button(`Compare and enrol ${a.member}`, () => void enrolScreen(admin, a))
      : el('span', {}, you ? 'This is you' : '');
    return [a.member, status, action];
  });
  showScreen(admin.main, 'Admins', APP,
    el('p', {}, 'Your operator invites new admins. Once a new admin has signed in and made their keys, an enrolled admin compares their safety number and enrols them here.'),
    admins.length === 0 ? el('p', {}, 'No admin has registered keys yet.') : table('Admins and their status', ['Admin', 'Status', 'Actions'], rows),
  );
}

function enrolScreen(admin: Admin, other: CustodyMember): Promise<void> {
  return compareScreen(admin, other, { title: `Enrol admin ${other.member}`, verb: 'Enrol', back: () => void adminsScreen(admin) }, async (registration, typed) => {
    const epochKey = await currentEpochKey(admin);
    const enrolled = await enrolAdminKeys({
      registration,
      confirmedSafetyNumber: typed,
      institution: admin.me.institution,
      epoch: epochKey.epoch,
      epochPrivateKey: epochKey.privateKey,
      admin: admin.me.staffId,
      adminSigningKey: admin.keys.signingPrivateKey,
    });
    const body: AdminEnrolmentRequest = { enrolment: toBase64Url(enrolled.enrolment), grants: [enrolled.grant] };
    await staffJson(admin.me, '/v1/custody/admins', { method: 'POST', json: body });
    await adminsScreen(admin);
    return `Admin ${other.member} is enrolled, with the key of epoch ${epochKey.epoch}.`;
  });
}

function revokeScreen(admin: Admin, reviewer: CustodyMember): void {
  showScreen(admin.main, `Revoke reviewer ${reviewer.member}`, APP,
    el('p', {}, `Revoking ${reviewer.member} starts a new institution key (a new epoch). Recordings made from now on are locked to it, and ${reviewer.member} never gets it.`),
    el('p', {}, 'Other reviewers will need your approval again for the new epoch. Recordings made before today stay locked to the old key until they are moved to the new one.'),
    actionForm(admin.live, `Revoking ${reviewer.member}…`, async () => {
      const [{ epoch }, recovery] = await Promise.all([trustedEpoch(admin), verifiedRecovery(admin)]);
      const next = epoch + 1;
      const newEpochKeys = await generateEpochKeyPair();
      const made = await createRevocation({
        institution: admin.me.institution, admin: admin.me.staffId, adminSigningKey: admin.keys.signingPrivateKey,
        reviewer: reviewer.member, epoch: next, newEpochKeys, recovery: recovery.statement,
      });
      const body: RevocationRequest = { revocation: toBase64Url(made.revocation), recoveryGrant: made.recoveryGrant };
      await staffJson(admin.me, '/v1/custody/revocations', { method: 'POST', json: body });
      // The new key lives only in this page until this grant to the admin is stored (the recovery key has it already).
      const own = await identityOf(admin.stored);
      await approve(admin, fromBase64Url(admin.stored.registration) as Uint8Array, own.safetyNumber, { epoch: next, privateKey: newEpochKeys.privateKey });
      const check = await trustedEpoch(admin);
      if (check.epoch !== next || toBase64Url(check.publicKey) !== toBase64Url(await exportPublicKey(newEpochKeys.publicKey))) {
        throw new Error('The server does not show the new epoch key after the revocation.');
      }
      await reviewersScreen(admin);
      return `${reviewer.member} is revoked. Epoch ${next} has started.`;
    }, el('div', { class: 'actions' }, submit(`Revoke ${reviewer.member}`), button('Back to reviewers', () => void reviewersScreen(admin), { class: 'secondary' }))),
  );
}
