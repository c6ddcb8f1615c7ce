/**
 * Passcodes an admin issues for an exam (POST /v1/exams/{exam}/passcodes; docs/INTEGRATION.md Part 2):
 * a count, a lifetime, then the passcodes shown once as a printable sheet. The server keeps only a
 * keyed hash of each, so this screen is their only copy: they live in its DOM and nowhere else (no
 * storage, no title, no URL), and are gone when the admin moves to another screen.
 */
import type { Exam } from '../../protocol/exams.js';
import { PASSCODE_BATCH_MAX, PASSCODE_TTL_MAX_SECONDS, type IssuedPasscodes } from '../../protocol/passcodes.js';
import { button, el, showScreen } from '../shared/dom.js';
import { staffJson } from '../shared/staff-session.js';
import type { Admin } from './custody.js';
import { APP, actionForm, field, submit, when } from './ui.js';

const DAY_SECONDS = 24 * 3600;
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

export function passcodesScreen(admin: Admin, exam: Exam, back: () => Promise<void>): void {
  const count = field('passcode-count', 'Number of passcodes', { type: 'number', min: '1', max: String(PASSCODE_BATCH_MAX), inputmode: 'numeric', required: true, value: '30' }, `1 to ${PASSCODE_BATCH_MAX}: one for each test taker.`);
  const days = field('passcode-days', 'Valid for (days)', { type: 'number', min: '1', max: String(MAX_DAYS), inputmode: 'numeric', required: true, value: '7' }, `1 to ${MAX_DAYS} days. A passcode not used by then stops working.`);
  const result = el('div', { id: 'passcode-result' });
  showScreen(admin.main, `Issue passcodes for ${exam.title}`, APP,
    el('p', { class: 'screen-only' }, `Each passcode lets one test taker start one attempt of exam ${exam.exam}, without an account. Issuing is written to the institution's audit log.`),
    actionForm(admin.live, 'Issuing the passcodes…', async () => {
      const body = { count: Number(count.input.value), ttlSeconds: Number(days.input.value) * DAY_SECONDS };
      const issued = await staffJson<IssuedPasscodes>(admin.me, `/v1/exams/${encodeURIComponent(exam.exam)}/passcodes`, { method: 'POST', json: body });
      result.replaceChildren(sheet(exam, issued));
      return `${issued.passcodes.length} passcodes issued. They are shown below, only this once.`;
    }, count.wrap, days.wrap, el('div', { class: 'actions' }, submit('Issue the passcodes'), button('Back to exams', () => void back().catch(() => undefined), { class: 'secondary' }))),
    result,
  );
}
