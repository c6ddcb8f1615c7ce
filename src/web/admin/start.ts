/**
 * The console's first screens: sign in with a passkey (or set one up from the operator's one-time
 * link), then make or unlock the admin's own keys. Nothing secret is kept but the member key file,
 * whose private keys are wrapped by the passphrase (shared/staff-keys.ts).
 */
import { el, showScreen } from '../shared/dom.js';
import type { Announcer } from '../shared/live.js';
import {
  MIN_MEMBER_PASSPHRASE_LENGTH,
  type StoredStaffKeys,
  type UnlockedMemberKeys,
  createStaffKeys,
  identityOf,
  loadStaffKeys,
  newPassphraseProblem,
  unlockStaffKeys,
} from '../shared/staff-keys.js';
import { type StaffMe, inviteTokenFrom, redeemInvite, signIn } from '../shared/staff-session.js';
import { APP, actionForm, field, submit } from './ui.js';

/**
 * Signs the admin in: from the setup link's fragment when the page was opened with one (the fragment
 * is cleared at once, so it stays out of history), else with a passkey or a pasted setup link.
 */
export function signInScreen(main: HTMLElement, live: Announcer, done: (me: StaffMe) => void): void {
  const fromLink = inviteTokenFrom(location.hash);
  if (fromLink) history.replaceState(null, '', location.pathname);
  const redeem = (token: string) => async () => {
    const me = await redeemInvite(token);
    done(me);
    return 'Your passkey is set up and you are signed in.';
  };
  if (fromLink) {
    showScreen(main, 'Set up your sign-in', APP,
      el('p', {}, 'Your ExamVault operator sent you this one-time link to become an admin of your institution.'),
      el('p', {}, 'You sign in with a passkey: your device keeps it, and ExamVault never learns your name or e-mail address. The link works once.'),
      actionForm(live, 'Creating your passkey…', redeem(fromLink), el('div', { class: 'actions' }, submit('Create a passkey'))),
    );
    return;
  }
  const link = field('setup-link', 'Setup link', {}, 'Only if you are new: paste the link your operator sent you.');
  showScreen(main, 'Sign in', APP,
    el('p', {}, 'Sign in to your institution with your passkey.'),
    actionForm(live, 'Waiting for your passkey…', async () => {
      done(await signIn());
      return 'You are signed in.';
    }, el('div', { class: 'actions' }, submit('Sign in with a passkey'))),
    el('h2', {}, 'New admin'),
    actionForm(live, 'Creating your passkey…', async () => {
      const token = inviteTokenFrom(link.input.value);
      if (!token) throw new Error('This is not an ExamVault setup link. Copy the whole link from the message your operator sent.');
      return redeem(token)();
    }, link.wrap, el('div', { class: 'actions' }, submit('Set up with this link'))),
  );
}

/** Shows a member's own safety number, as the person approving or enrolling them will ask for it. */
export async function identityBlock(stored: StoredStaffKeys): Promise<HTMLElement> {
  const id = await identityOf(stored);
  return el('div', {},
    el('h2', {}, 'Your safety number'),
    el('p', { class: 'safety-number', id: 'own-safety-number' }, id.safetyNumber),
    el('p', { class: 'hint' }, `Key fingerprint: ${id.fingerprint}`),
  );
}

/**
 * Makes the admin's keys (first time in this institution) or unlocks them, then hands them on. Keys
 * are looked for in this browser, then on the server (registered from another browser or the CLI).
 */
export async function keysScreen(main: HTMLElement, live: Announcer, me: StaffMe, done: (stored: StoredStaffKeys, keys: UnlockedMemberKeys) => void): Promise<void> {
  const stored = await loadStaffKeys(me);
  if (stored) {
    const passphrase = field('passphrase', 'Passphrase', { type: 'password', autocomplete: 'current-password' });
    showScreen(main, 'Unlock your keys', APP,
      el('p', {}, 'Your keys are locked by your passphrase. Unlocking them here lets this page sign approvals and open the institution\'s key. They stay unlocked only until you close or reload the page.'),
      actionForm(live, 'Unlocking your keys…', async () => {
        done(stored, await unlockStaffKeys(stored, passphrase.input.value));
        return 'Your keys are unlocked.';
      }, passphrase.wrap, el('div', { class: 'actions' }, submit('Unlock'))),
    );
    return;
  }
  const passphrase = field('new-passphrase', 'New passphrase', { type: 'password', autocomplete: 'new-password', minlength: String(MIN_MEMBER_PASSPHRASE_LENGTH) },
    `At least ${MIN_MEMBER_PASSPHRASE_LENGTH} characters. Nobody can reset it: without it, your keys cannot be used.`);
  const repeat = field('repeat-passphrase', 'Type the passphrase again', { type: 'password', autocomplete: 'new-password' });
  showScreen(main, 'Create your keys', APP,
    el('p', {}, 'As an admin you need your own keys: they sign approvals and hold your copy of the institution\'s key. They are made here, on this computer.'),
    el('p', {}, 'Your passphrase locks them. The server keeps only the locked keys, so choose a passphrase nobody can guess.'),
    actionForm(live, 'Creating your keys. This takes a few seconds…', async () => {
      const problem = newPassphraseProblem(passphrase.input.value, repeat.input.value);
      if (problem) throw new Error(problem);
      const made = await createStaffKeys(me, passphrase.input.value);
      await keysReadyScreen(main, live, made.stored, () => done(made.stored, made.unlocked));
      return 'Your keys are created.';
    }, passphrase.wrap, repeat.wrap, el('div', { class: 'actions' }, submit('Create my keys'))),
  );
}

async function keysReadyScreen(main: HTMLElement, live: Announcer, stored: StoredStaffKeys, next: () => void): Promise<void> {
  showScreen(main, 'Your keys are ready', APP,
    el('p', {}, 'Your keys are saved in this browser and on the server, locked by your passphrase.'),
    await identityBlock(stored),
    el('p', {}, 'If another admin enrols you, they will ask you to read this number out.'),
    actionForm(live, 'Continuing…', async () => next(), el('div', { class: 'actions' }, submit('Continue'))),
  );
}
