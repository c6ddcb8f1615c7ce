/**
 * Passcodes an admin issues for an exam (POST /v1/exams/{exam}/passcodes; docs/INTEGRATION.md Part 2):
 * a count, a lifetime, then the passcodes shown once as a printable sheet. The server keeps only a
 * keyed hash of each, so this screen is their only copy: they live in its DOM and nowhere else (no
 * storage, no title, no URL), and are gone when the admin moves to another screen.
 *
 * Below, the exam's passcodes as the server lists them (GET; never the passcodes themselves), a page
 * of LIST_PAGE at a time or one attempt's, each unused one with a Withdraw button (DELETE). The confirmation is asked
 * on this screen, not on a screen of its own, so that a sheet just issued stays in view.
 */
import type { Exam } from '../../protocol/exams.js';
import { PASSCODE_BATCH_MAX, PASSCODE_TTL_MAX_SECONDS, type IssuedPasscodes, type PasscodeList, type PasscodeSummary } from '../../protocol/passcodes.js';
import { callJson } from '../shared/api.js';
import { button, el, showScreen } from '../shared/dom.js';
import { staffCall, staffJson } from '../shared/staff-session.js';
import type { Admin } from './custody.js';
import { APP, actionForm, field, problemText, submit, table, when } from './ui.js';

const DAY_SECONDS = 24 * 3600;
/** Passcodes the list shows at first, and adds with each "Show older passcodes". */
export const LIST_PAGE = 100;
const MAX_DAYS = PASSCODE_TTL_MAX_SECONDS / DAY_SECONDS;

/** The sheet of issued passcodes, its heading focused so a screen reader starts there. */
function sheet(exam: Exam, issued: IssuedPasscodes): HTMLElement {
  const { passcodes } = issued;
  const expires = passcodes[0] ? when(passcodes[0].expiresAt) : '';
  const heading = el('h2', { id: 'passcodes-heading', tabindex: '-1' }, `${passcodes.length} passcodes for ${exam.title}`);
  const section = el('section', { id: 'passcode-sheet', 'aria-labelledby': 'passcodes-heading' },
    heading,
    el('p', { class: 'warn' }, 'These passcodes are shown only now: print or copy them before you leave this screen. ExamVault keeps only a fingerprint of each and cannot show them again.'),
    el('p', {}, `Give one passcode to each test taker. Each passcode works once, for one attempt, until ${expires}. Letters and digits only; hyphens, spaces and letter case do not matter when typed.`),
    el('ol', { class: 'passcodes' }, ...passcodes.map((p) => el('li', {}, el('code', { class: 'secret' }, p.passcode)))),
    el('div', { class: 'actions' }, button('Print the passcodes', () => window.print())),
  );
  queueMicrotask(() => heading.focus());
  return section;
}

const STATES: Record<PasscodeSummary['state'], string> = { unused: 'Not used', used: 'Used', expired: 'Expired' };

const passcodesPath = (exam: Exam): string => `/v1/exams/${encodeURIComponent(exam.exam)}/passcodes`;

/** Asks, above the list, whether to withdraw `p`; the answer is announced and the list drawn again. */
function confirmWithdrawal(admin: Admin, exam: Exam, p: PasscodeSummary, area: HTMLElement, opener: HTMLButtonElement, refresh: () => Promise<void>): void {
  const question = el('p', { id: 'withdraw-question', tabindex: '-1' },
    `Withdraw the passcode of attempt ${p.attempt}? It stops working at once. This cannot be undone: issue a new passcode if the test taker still needs one.`);
  area.replaceChildren(question, actionForm(admin.live, 'Withdrawing the passcode…', async () => {
    await staffCall(admin.me, `${passcodesPath(exam)}/${encodeURIComponent(p.id)}`, { method: 'DELETE' });
    await refresh();
    document.getElementById('passcode-list-heading')?.focus();
    return `The passcode of attempt ${p.attempt} is withdrawn: it can no longer be used.`;
  }, el('div', { class: 'actions' }, submit('Withdraw it'), button('Keep it', () => {
    area.replaceChildren();
    opener.focus();
  }, { class: 'secondary' }))));
  question.focus();
}

/** The latest drawing asked of each list region: an older answer arriving late is not drawn over a newer one. */
const drawings = new WeakMap<HTMLElement, number>();

/** What the list shows: every passcode, or one attempt's; `shown` already drawn, the next page from `before`. */
interface ListView {
  readonly attempt?: string | undefined;
  readonly shown?: readonly PasscodeSummary[];
  readonly before?: string | null;
}

/**
 * Draws the exam's passcodes into `region` (or one attempt's, found with the form above them): who
 * issued each, when, and where it stands. "Show older passcodes" adds the next page. Resolves with the
 * number of passcodes drawn.
 */
async function drawPasscodeList(admin: Admin, exam: Exam, region: HTMLElement, view: ListView = {}): Promise<number> {
  const { attempt, shown = [], before = null } = view;
  const drawing = (drawings.get(region) ?? 0) + 1;
  drawings.set(region, drawing);
  const query = [`limit=${LIST_PAGE}`, ...(attempt === undefined ? [] : [`attempt=${encodeURIComponent(attempt)}`]), ...(before === null ? [] : [`before=${encodeURIComponent(before)}`])];
  const page = await callJson<PasscodeList>(`${passcodesPath(exam)}?${query.join('&')}`);
  if (drawings.get(region) !== drawing) return shown.length;
  const passcodes = [...shown, ...page.passcodes];
  const refresh = async (): Promise<void> => void (await drawPasscodeList(admin, exam, region, { attempt }));
  // A later page or the whole list that could not be drawn: said below what is shown.
  const alertProblem = (e: unknown): void => void region.append(el('p', { class: 'error', role: 'alert' }, problemText(e)));
  const next = page.next;
  const older = next === null ? null : button('Show older passcodes', () => {
    void drawPasscodeList(admin, exam, region, { attempt, shown: passcodes, before: next }).then(() => {
      // Focus goes to the first passcode just added, where reading goes on.
      const cell = region.querySelectorAll<HTMLElement>('tbody tr > :first-child')[passcodes.length];
      cell?.setAttribute('tabindex', '-1');
      cell?.focus();
    }, alertProblem);
  }, { class: 'secondary' });
  const confirmation = el('div', { id: 'withdraw-confirmation' });
  const withdraw = (p: PasscodeSummary): HTMLButtonElement => {
    const b: HTMLButtonElement = button('Withdraw', () => confirmWithdrawal(admin, exam, p, confirmation, b, refresh), { class: 'secondary', 'aria-label': `Withdraw the passcode of attempt ${p.attempt}` });
    return b;
  };
  const focusHeading = (): void => document.getElementById('passcode-list-heading')?.focus();
  const find = field('passcode-find', 'Attempt', { value: attempt ?? '', spellcheck: false }, 'An attempt id, as the list shows it: only that attempt\'s passcodes are listed.');
  const search = actionForm(admin.live, 'Finding the passcodes…', async () => {
    const wanted = find.input.value.trim();
    const found = await drawPasscodeList(admin, exam, region, { attempt: wanted });
    focusHeading();
    return found === 0 ? `No passcode of attempt ${wanted} in this exam.` : `${found} ${found === 1 ? 'passcode' : 'passcodes'} of attempt ${wanted}.`;
  }, find.wrap, el('div', { class: 'actions' }, submit('Find its passcodes'), attempt === undefined ? null : button('Show every passcode', () => {
    void drawPasscodeList(admin, exam, region).then(focusHeading, alertProblem);
  }, { class: 'secondary' })));
  const what = attempt === undefined ? 'Passcodes of this exam' : `Passcodes of attempt ${attempt}`;
  region.replaceChildren(
    el('h2', { id: 'passcode-list-heading', tabindex: '-1' }, what),
    el('p', {}, `Every passcode of the exam not withdrawn, issued here or by an assessment platform, newest first, ${LIST_PAGE} at a time. The passcodes themselves cannot be shown again. An unused passcode can be withdrawn, for example one handed out by mistake.`),
    search,
    confirmation,
    passcodes.length === 0
      ? el('p', {}, attempt === undefined ? 'No passcode yet.' : `No passcode of attempt ${attempt} in this exam.`)
      : table(`${what} (${exam.title})`, ['Attempt', 'Issued by', 'Created', 'Expires', 'State', 'Withdrawal'], passcodes.map((p) => [
        p.attempt, p.issuedBy === 'admin' ? 'An admin' : `Platform ${p.platform ?? ''}`, when(p.createdAt), when(p.expiresAt),
        p.state === 'used' && p.usedAt ? `Used ${when(p.usedAt)}` : STATES[p.state], p.state === 'unused' ? withdraw(p) : '',
      ])),
    ...(older ? [el('div', { class: 'actions' }, older)] : []),
  );
  return passcodes.length;
}

export function passcodesScreen(admin: Admin, exam: Exam, back: () => Promise<void>): void {
  const count = field('passcode-count', 'Number of passcodes', { type: 'number', min: '1', max: String(PASSCODE_BATCH_MAX), inputmode: 'numeric', required: true, value: '30' }, `1 to ${PASSCODE_BATCH_MAX}: one for each test taker.`);
  const days = field('passcode-days', 'Valid for (days)', { type: 'number', min: '1', max: String(MAX_DAYS), inputmode: 'numeric', required: true, value: '7' }, `1 to ${MAX_DAYS} days. A passcode not used by then stops working.`);
  const result = el('div', { id: 'passcode-result' });
  // Not printed: the printed sheet is the passcodes alone.
  const list = el('section', { id: 'passcode-list', class: 'screen-only', 'aria-labelledby': 'passcode-list-heading' });
  const drawList = (): Promise<void> => drawPasscodeList(admin, exam, list).then(() => undefined, (e: unknown) => {
    list.replaceChildren(el('h2', { id: 'passcode-list-heading', tabindex: '-1' }, 'Passcodes of this exam'), el('p', { class: 'error' }, problemText(e)));
  });
  showScreen(admin.main, `Issue passcodes for ${exam.title}`, APP,
    el('p', { class: 'screen-only' }, `Each passcode lets one test taker start one attempt of exam ${exam.exam}, without an account. Issuing is written to the institution's audit log.`),
    actionForm(admin.live, 'Issuing the passcodes…', async () => {
      const body = { count: Number(count.input.value), ttlSeconds: Number(days.input.value) * DAY_SECONDS };
      const issued = await staffJson<IssuedPasscodes>(admin.me, `/v1/exams/${encodeURIComponent(exam.exam)}/passcodes`, { method: 'POST', json: body });
      result.replaceChildren(sheet(exam, issued));
      await drawList();
      return `${issued.passcodes.length} passcodes issued. They are shown below, only this once.`;
    }, count.wrap, days.wrap, el('div', { class: 'actions' }, submit('Issue the passcodes'), button('Back to exams', () => void back().catch(() => undefined), { class: 'secondary' }))),
    result,
    list,
  );
  void drawList();
}
