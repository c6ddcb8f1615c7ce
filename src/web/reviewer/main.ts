/**
 * The reviewer app (docs/WEB.md "The reviewer"): sign in with a passkey (or arrive signed in from an
 * LTI instructor launch), make or unlock one's own keys, wait for an admin's approval, then list
 * exams, their attempts, and play an attempt.
 *
 * Screens: sign in → (first time) create your key → show your safety number and wait for approval;
 * (later) unlock your key → exams → attempts → the player. The epoch key the reviewer's grant opens
 * is the one the signed chain of GET /v1/custody/epoch announces (epoch-trust.ts), never one taken
 * from the grant itself. Private keys live only in this page's memory.
 */
import '../shared/base.css';
import './reviewer.css';
import type { EpochResponse, RecordingListResponse, AttemptListResponse, UnlockResponse } from '../../protocol/custody.js';
import type { Exam } from '../../protocol/exams.js';
import { ApiCallError } from '../shared/api.js';
import { button, el, showScreen } from '../shared/dom.js';
import { liveRegion } from '../shared/live.js';
import {
  MIN_MEMBER_PASSPHRASE_LENGTH,
  type StoredStaffKeys,
  type UnlockedMemberKeys,
  createStaffKeys,
  identityOf,
  loadStaffKeys,
  newPassphraseProblem,
  openOwnGrant,
  unlockStaffKeys,
} from '../shared/staff-keys.js';
import { type StaffMe, currentStaff, signIn, staffCall, staffJson } from '../shared/staff-session.js';
import { checkEpochKey } from '../recorder/epoch-trust.js';
import { PieceSource } from './player-source.js';
import { unlockAttempt } from './player-unlock.js';
import { mountCaseExport } from './case-export.js';
import { type StaffApi, mountReviewPanel } from './review-panel.js';
import { createPlayer, type PlayerView } from './player.js';

const APP = 'ExamVault';
const main = document.getElementById('main') as HTMLElement;
const live = liveRegion(document.getElementById('live') as HTMLElement);
const screen = (title: string, ...content: Parameters<typeof showScreen>[3][]) => showScreen(main, title, APP, ...content);

/** How often the waiting screen asks whether an admin approved the keys. */
const APPROVAL_POLL_MS = 5000;

function problem(e: unknown): string {
  if (e instanceof ApiCallError) return `${e.message} (${e.code})`;
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') return `${e.message} (${e.code})`;
  return e instanceof Error ? e.message : String(e);
}

function showError(title: string, e: unknown, retry: () => void): void {
  screen(title, el('p', { class: 'error', role: 'alert' }, problem(e)), el('div', { class: 'actions' }, button('Try again', retry)));
}

async function start(): Promise<void> {
  screen('Review recordings', el('p', {}, 'Checking whether you are signed in…'));
  let me: StaffMe | null;
  try {
    me = await currentStaff();
  } catch (e) {
    showError('The server cannot be reached', e, () => void start());
    return;
  }
  if (!me) return showSignIn();
  await afterSignIn(me);
}

function showSignIn(): void {
  const status = el('p', { role: 'alert' });
  screen('Sign in to review recordings',
    el('p', {}, 'Sign in with the passkey you registered from your invitation, or open ExamVault from your course as an instructor.'),
    el('div', { class: 'actions' }, button('Sign in with a passkey', () => {
      status.textContent = '';
      signIn().then((me) => afterSignIn(me), (e: unknown) => { status.className = 'error'; status.textContent = problem(e); });
    })),
    status,
  );
}

async function afterSignIn(me: StaffMe): Promise<void> {
  let stored: StoredStaffKeys | null;
  try {
    stored = await loadStaffKeys(me);
  } catch (e) {
    showError('Your keys cannot be read', e, () => void afterSignIn(me));
    return;
  }
  if (!stored) showCreateKeys(me);
  else showUnlock(me, stored);
}

function passphraseField(id: string, label: string, autocomplete: string): [HTMLLabelElement, HTMLInputElement] {
  const input = el('input', { type: 'password', id, autocomplete, required: true });
  return [el('label', { for: id }, label), input];
}

function showCreateKeys(me: StaffMe): void {
  const [l1, p1] = passphraseField('new-passphrase', 'New passphrase', 'new-password');
  const [l2, p2] = passphraseField('repeat-passphrase', 'The same passphrase again', 'new-password');
  const status = el('p', { role: 'alert' });
  const form = el('form', {}, l1, el('p', { class: 'hint', id: 'passphrase-hint' }, `At least ${MIN_MEMBER_PASSPHRASE_LENGTH} characters. It never leaves this computer; ExamVault cannot reset it.`), p1, l2, p2,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Create my key')), status);
  p1.setAttribute('aria-describedby', 'passphrase-hint');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const refused = newPassphraseProblem(p1.value, p2.value);
    status.className = 'error';
    if (refused) {
      status.textContent = refused;
      return;
    }
    status.className = '';
    status.textContent = 'Making your key…';
    createStaffKeys(me, p1.value).then(({ stored, unlocked }) => waitForApproval(me, stored, unlocked), (e: unknown) => {
      status.className = 'error';
      status.textContent = problem(e);
    });
  });
  screen('Create your key', el('p', {}, 'Recordings open only with a key made on your own computer and protected by a passphrase you choose. An admin then approves it.'), form);
}

function showUnlock(me: StaffMe, stored: StoredStaffKeys): void {
  const [label, input] = passphraseField('passphrase', 'Passphrase', 'current-password');
  const status = el('p', { role: 'alert' });
  const form = el('form', {}, label, input, el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Unlock')), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.className = '';
    status.textContent = 'Unlocking…';
    unlockStaffKeys(stored, input.value).then((unlocked) => waitForApproval(me, stored, unlocked), (e: unknown) => {
      status.className = 'error';
      status.textContent = e instanceof Error && 'code' in e && e.code === 'EV_ERR_CRYPTO_DECRYPTION_FAILED' ? 'That passphrase does not unlock your key.' : problem(e);
      input.focus();
    });
  });
  screen('Unlock your key', el('p', {}, 'Type the passphrase that protects your key on this computer.'), form);
}

interface GrantsAnswer {
  readonly status: string;
  readonly grants: readonly { readonly epoch: number; readonly grant: unknown }[];
}

/** Until an admin approves these keys: the safety number to read out, checked again every few seconds. */
async function waitForApproval(me: StaffMe, stored: StoredStaffKeys, unlocked: UnlockedMemberKeys): Promise<void> {
  let answer: GrantsAnswer;
  try {
    answer = await staffJson<GrantsAnswer>(me, '/v1/custody/me/grant');
  } catch (e) {
    showError('Your approval cannot be checked', e, () => void waitForApproval(me, stored, unlocked));
    return;
  }
  if (answer.status === 'approved' && answer.grants.length > 0) {
    await openEpoch(me, unlocked, answer);
    return;
  }
  const identity = await identityOf(stored);
  const groups = identity.safetyNumber.split(' ');
  const again = button('Check again', () => { clearTimeout(timer); void waitForApproval(me, stored, unlocked); }, { class: 'secondary' });
  screen('Waiting for approval',
    el('p', {}, answer.status === 'revoked'
      ? 'Your access was revoked. An admin can approve new keys if you make them.'
      : 'Read this safety number to an admin of your institution (in person or on a call). They approve your key only if every digit matches what their screen shows.'),
    el('p', { class: 'safety-number', id: 'safety-number', 'aria-label': `Safety number: ${groups.join(', ')}` }, ...groups.map((g) => el('span', {}, g))),
    el('p', { class: 'hint' }, 'Key fingerprint: ', el('code', { id: 'fingerprint' }, identity.fingerprint)),
    el('div', { class: 'actions' }, again),
  );
  live.announce('Waiting for an admin to approve your key.');
  const timer = setTimeout(() => void waitForApproval(me, stored, unlocked), APPROVAL_POLL_MS);
}

/** The current epoch key, checked along the served chain, then opened from this reviewer's grant. */
async function openEpoch(me: StaffMe, unlocked: UnlockedMemberKeys, answer: GrantsAnswer): Promise<void> {
  try {
    const served = await staffJson<EpochResponse>(me, '/v1/custody/epoch');
    const check = await checkEpochKey(served, me.institution, { admins: new Map() }, { firstUse: true });
    if (!check.ok) throw new Error(`The institution's key could not be checked: ${check.reason}.`);
    const grant = answer.grants.find((g) => g.epoch === check.epoch);
    if (!grant) throw new Error(`Your approval does not cover the institution's current key (epoch ${check.epoch}) yet. Ask an admin to approve you again.`);
    const key = await openOwnGrant(unlocked, grant.grant, { epoch: check.epoch, epochPublicKey: check.publicKeyBytes });
    live.announce('Your key is unlocked.');
    await showExams({ me, unlocked, epoch: check.epoch, epochPublicKey: check.publicKey, epochKeys: new Map([[check.epoch, key]]), authors: check.admins });
  } catch (e) {
    showError('The recordings cannot be opened', e, () => void openEpoch(me, unlocked, answer));
  }
}

/**
 * What the screens after unlocking share: who is signed in, their unlocked keys (the signing key
 * signs review revisions), and the epoch keys proven and opened. Held in this page's memory only.
 */
interface ReviewerSession {
  readonly me: StaffMe;
  readonly unlocked: UnlockedMemberKeys;
  /** The current epoch and its public key, checked along the served chain. */
  readonly epoch: number;
  readonly epochPublicKey: CryptoKey;
  /** Epoch → private key, opened from this reviewer's grants. */
  readonly epochKeys: ReadonlyMap<number, CryptoKey>;
  /** Admin id → signing public key, from the admin enrolments of the checked chain: whose review revisions verify besides this member's own. */
  readonly authors: ReadonlyMap<string, Uint8Array>;
}

/** The review panel's and case export's view of the API, with this session's CSRF token. */
function staffApi(me: StaffMe): StaffApi {
  return {
    json: (path, init) => staffJson(me, path, { ...init }),
    bytes: async (path) => new Uint8Array(await (await staffCall(me, path)).arrayBuffer()),
  };
}

/** The verdict and notes panel and the case export of one attempt, from the unlocked session. */
function mountReview(session: ReviewerSession, api: StaffApi, institution: string, attempt: string, panel: HTMLElement, exporter: HTMLElement): void {
  const { me, unlocked } = session;
  const own = unlocked.registration;
  const epochKey = (epoch: number) => Promise.resolve(session.epochKeys.get(epoch) ?? null);
  mountReviewPanel(panel, {
    api, institution, attempt, member: me.staffId, signingKey: unlocked.signingPrivateKey, status: live, epochKey,
    // The epoch this page proved at unlock; a revocation since then answers 409 STALE_EPOCH, and a new unlock proves the next one.
    currentEpoch: () => Promise.resolve({ epoch: session.epoch, publicKey: session.epochPublicKey }),
    // Only keys this page verified: its own registration and the admins the checked chain enrolled.
    authorKey: (author) => Promise.resolve(author === me.staffId ? own.signingPublicKey : session.authors.get(author) ?? null),
  });
  mountCaseExport(exporter, {
    api, institution, attempt, member: me.staffId, signingKey: unlocked.signingPrivateKey, status: live, epochKey,
    memberKeys: { hpkePublicKey: own.hpkePublicKey, signingPublicKey: own.signingPublicKey },
  });
}

async function showExams(session: ReviewerSession): Promise<void> {
  const { me } = session;
  let exams: readonly Exam[];
  try {
    exams = (await staffJson<{ exams: Exam[] }>(me, '/v1/exams')).exams;
  } catch (e) {
    showError('Exams cannot be listed', e, () => void showExams(session));
    return;
  }
  screen('Exams',
    exams.length === 0 ? el('p', {}, 'Your institution has no exams yet.') : el('table', {},
      el('caption', {}, 'Exams of your institution, oldest first'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Exam'), el('th', { scope: 'col' }, 'Created'), el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, 'Action')))),
      el('tbody', {}, ...exams.map((x) => el('tr', {},
        el('td', {}, x.title),
        el('td', {}, x.createdAt.slice(0, 10)),
        el('td', {}, button('Attempts', () => void showAttempts(session, x), { 'aria-label': `Attempts of ${x.title}` })),
      ))),
    ),
  );
}

async function showAttempts(session: ReviewerSession, exam: Exam): Promise<void> {
  const { me } = session;
  let list: AttemptListResponse;
  try {
    list = await staffJson<AttemptListResponse>(me, `/v1/custody/exams/${encodeURIComponent(exam.exam)}/attempts`);
  } catch (e) {
    showError('Attempts cannot be listed', e, () => void showAttempts(session, exam));
    return;
  }
  screen(`Attempts: ${exam.title}`,
    list.attempts.length === 0 ? el('p', {}, 'No attempt of this exam yet.') : el('table', {},
      el('caption', {}, 'Attempts with their number of recordings'),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Attempt'), el('th', { scope: 'col' }, 'Recordings'), el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, 'Action')))),
      el('tbody', {}, ...list.attempts.map((a) => el('tr', {},
        el('td', {}, el('code', {}, a.attempt)),
        el('td', {}, String(a.recordings)),
        el('td', {}, button('Play', () => void showAttempt(session, exam, a.attempt), { 'aria-label': `Play attempt ${a.attempt}`, disabled: a.recordings === 0 })),
      ))),
    ),
    el('div', { class: 'actions' }, button('Back to exams', () => void showExams(session), { class: 'secondary' })),
  );
}

let player: PlayerView | null = null;

async function showAttempt(session: ReviewerSession, exam: Exam, attempt: string): Promise<void> {
  const { me } = session;
  player?.close();
  player = null;
  screen(`Attempt ${attempt}`, el('p', {}, 'Unlocking the recordings…'));
  try {
    const listed = await staffJson<RecordingListResponse>(me, `/v1/custody/attempts/${encodeURIComponent(attempt)}/recordings`);
    const base = `/v1/custody/recordings/${encodeURIComponent(listed.institution)}`;
    const unlocked = await unlockAttempt({
      institution: listed.institution,
      attempt,
      listed: listed.recordings,
      snapshotSeconds: exam.snapshotIntervalSeconds,
      epochKey: (epoch) => session.epochKeys.get(epoch) ?? null,
      unlock: (recording) => staffJson<UnlockResponse>(me, `${base}/${encodeURIComponent(recording)}/unlock`, { method: 'POST' }),
    });
    const api = staffApi(me);
    const source = new PieceSource(unlocked.recordings, (recording, index) => api.bytes(`${base}/${encodeURIComponent(recording)}/segments/${index}`));
    player = createPlayer(unlocked.timeline, source);
    const panel = el('div', { id: 'review-panel' });
    const exporter = el('div', { id: 'case-export' });
    screen(`Attempt ${attempt}`,
      el('p', {}, `${exam.title}: ${unlocked.recordings.size} recordings unlocked (each unlock is written to the audit log).`),
      unlocked.unopened.length > 0 ? el('ul', { class: 'warn' }, ...unlocked.unopened.map((u) => el('li', {}, `${u.recording}: ${u.reason}`))) : null,
      player.root,
      panel,
      exporter,
      el('div', { class: 'actions' }, button('Back to attempts', () => { player?.close(); player = null; void showAttempts(session, exam); }, { class: 'secondary' })),
    );
    mountReview(session, api, listed.institution, attempt, panel, exporter);
  } catch (e) {
    showError('This attempt cannot be played', e, () => void showAttempt(session, exam, attempt));
  }
}

void start();
