/**
 * The admin console (docs/WEB.md "The admin console"): sign in with a passkey → make or unlock the
 * admin's own keys → set the institution up (first admin, once) → reviewers, exams, platforms, LTI
 * registrations, retention and the audit log. Every key operation runs in this page with src/crypto;
 * the server stores only public keys, wrapped keys, grants and signed statements.
 */
import '../shared/base.css';
import './admin.css';
import type { EpochResponse } from '../../protocol/custody.js';
import { ApiCallError, callJson } from '../shared/api.js';
import { button, el, showScreen } from '../shared/dom.js';
import { liveRegion } from '../shared/live.js';
import { type StaffMe, currentStaff, inviteTokenFrom, signOut } from '../shared/staff-session.js';
import { auditScreen } from './audit.js';
import type { Admin } from './custody.js';
import { adminsScreen, reviewersScreen } from './staff.js';
import { setUpScreen } from './set-up.js';
import { examsScreen, ltiScreen, platformsScreen, retentionScreen } from './settings.js';
import { identityBlock, keysScreen, signInScreen } from './start.js';
import { enrolWithRecoveryKey } from './recover.js';
import { APP, actionForm, field, problemText, submit } from './ui.js';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('sections') as HTMLElement;
const live = liveRegion(document.getElementById('live') as HTMLElement);

function failed(e: unknown): void {
  const text = problemText(e);
  showScreen(main, 'Something went wrong', APP, el('p', { class: 'error' }, text), el('div', { class: 'actions' }, button('Start again', () => location.reload())));
  live.announce(text);
}

/** Runs a screen's loading; a failure shows the problem instead of a half-drawn screen. */
function open(screen: () => Promise<void> | void): void {
  try {
    void Promise.resolve(screen()).catch(failed);
  } catch (e) {
    failed(e);
  }
}

function showNav(admin: Admin): void {
  const sections: [string, () => Promise<void> | void][] = [
    ['Home', () => home(admin)],
    ['Reviewers', () => reviewersScreen(admin)],
    ['Admins', () => adminsScreen(admin)],
    ['Exams', () => examsScreen(admin)],
    ['Assessment platforms', () => platformsScreen(admin)],
    ['LTI platforms', () => ltiScreen(admin)],
    ['Retention', () => retentionScreen(admin)],
    ['Audit log', () => auditScreen(admin)],
  ];
  nav.replaceChildren(el('ul', {},
    ...sections.map(([label, screen]) => el('li', {}, button(label, () => open(screen), { class: 'secondary' }))),
    el('li', {}, button('Sign out', () => open(async () => {
      await signOut(admin.me);
      location.reload();
    }), { class: 'secondary' })),
  ));
  nav.hidden = false;
}

async function home(admin: Admin): Promise<void> {
  showScreen(main, 'Admin console', APP,
    el('p', {}, `You are signed in as admin ${admin.me.staffId} of institution ${admin.me.institution}.`),
    el('p', {}, 'Choose a section above. Approving reviewers is under Reviewers.'),
    await identityBlock(admin.stored),
  );
}

/**
 * Pending admins (keys not enrolled yet) show their safety number for another admin to compare, or,
 * when no admin is left, are enrolled with the institution's recovery key (recover.ts).
 */
async function waitingForEnrolment(admin: Admin): Promise<void> {
  const recoveryKey = field('recovery-key-input', 'Recovery key', { autocomplete: 'off', spellcheck: 'false' },
    '56 letters and digits in groups of 4, as printed when the institution was set up.');
  showScreen(main, 'Waiting for enrolment', APP,
    el('p', {}, 'Your keys are registered, but another admin must enrol them before you can act as an admin.'),
    el('p', {}, 'When they call you, read out this safety number:'),
    await identityBlock(admin.stored),
    el('h2', {}, 'No admin left?'),
    el('p', {}, 'If every other admin has lost their keys, the holder of the institution\'s recovery key can enrol you here.'),
    actionForm(live, 'Checking the recovery key…', async () => {
      const epoch = await enrolWithRecoveryKey(admin, recoveryKey.input.value);
      showNav(admin);
      await home(admin);
      return `You are enrolled with the recovery key, with the key of epoch ${epoch}.`;
    }, recoveryKey.wrap, el('div', { class: 'actions' }, submit('Enrol me with the recovery key'))),
  );
}

async function afterKeys(admin: Admin): Promise<void> {
  const status = (await callJson<{ status: string }>('/v1/custody/me/grant')).status;
  if (status === 'approved') {
    showNav(admin);
    await home(admin);
    return;
  }
  // Before set-up the epoch chain is empty: no institution statement names a recovery key yet. An
  // institution created without an epoch key has no chain at all: its set-up generates the key.
  const served = await callJson<EpochResponse>('/v1/custody/epoch').catch((e: unknown) => {
    if (e instanceof ApiCallError && e.code === 'EV_ERR_CUSTODY_NOT_SET_UP') return null;
    throw e;
  });
  if (served === null || served.statements.length === 0) {
    setUpScreen(admin, served, () => open(async () => {
      showNav(admin);
      await home(admin);
    }));
    return;
  }
  await waitingForEnrolment(admin);
}

function signedIn(me: StaffMe): void {
  if (me.role !== 'admin') {
    showScreen(main, 'This console is for admins', APP,
      el('p', {}, 'You are signed in as a reviewer. Reviewers use the reviewer app.'),
      el('p', {}, el('a', { href: '/app/reviewer/' }, 'Open the reviewer app')));
    return;
  }
  open(() => keysScreen(main, live, me, (stored, keys) => open(() => afterKeys({ me, stored, keys, main, live }))));
}

open(async () => {
  // A setup link's token in the fragment comes first: it is for someone not signed in yet.
  const me = inviteTokenFrom(location.hash) ? null : await currentStaff();
  if (me) signedIn(me);
  else signInScreen(main, live, signedIn);
});
