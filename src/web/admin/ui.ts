/**
 * What every screen of the admin console shares: labelled fields, forms that run one action at a
 * time and say what happened, and problems in plain words. A form is never submitted to a URL (the
 * CSP has `form-action 'none'`): its submit event runs the action in the page.
 *
 * Status changes go to the page's one live region (WCAG 4.1.3); a problem is also written under the
 * form that caused it, so it stays on screen after the announcement.
 */
import { ApiCallError, UnreachableError } from '../shared/api.js';
import { el } from '../shared/dom.js';
import type { Announcer } from '../shared/live.js';

export const APP = 'ExamVault admin console';

/** A labelled input, with an optional hint tied to it by aria-describedby. */
export function field(id: string, label: string, attrs: Readonly<Record<string, string | boolean>> = {}, hint?: string): { wrap: HTMLElement; input: HTMLInputElement } {
  const input = el('input', { id, name: id, type: 'text', autocomplete: 'off', ...attrs, ...(hint ? { 'aria-describedby': `${id}-hint` } : {}) });
  const wrap = el('div', {}, el('label', { for: id }, label), hint ? el('p', { id: `${id}-hint`, class: 'hint' }, hint) : null, input);
  return { wrap, input };
}

/** Words for a problem: the server's message and code, or the crypto core's, never a stack. */
export function problemText(e: unknown): string {
  if (e instanceof UnreachableError) return 'The ExamVault server cannot be reached. Check the connection and try again.';
  if (e instanceof ApiCallError) return `The server refused: ${e.message} (${e.code}).`;
  if (e instanceof Error && 'code' in e && typeof e.code === 'string') {
    if (e.code === 'EV_ERR_CRYPTO_DECRYPTION_FAILED') return 'That passphrase does not open these keys. Check it and try again.';
    return `${e.message} (${e.code}).`;
  }
  if (e instanceof DOMException && e.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out. Try again.';
  return e instanceof Error ? e.message : String(e);
}

/**
 * A form whose submit runs `action` once at a time: its buttons are disabled meanwhile, `working`
 * is announced, and a problem is shown in the form's error paragraph (and announced) instead of
 * being lost. The action returns the words to announce when it succeeded, if any.
 */
export function actionForm(
  live: Announcer,
  working: string,
  action: () => Promise<string | void>,
  ...children: (Node | string | null | false)[]
): HTMLFormElement {
  const id = `problem-${Math.random().toString(36).slice(2, 10)}`;
  const problem = el('p', { id, class: 'error' });
  const form = el('form', { novalidate: true, 'aria-describedby': id }, ...children.filter((c): c is Node | string => c !== null && c !== false), problem);
  let busy = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const buttons = [...form.querySelectorAll('button')];
    for (const b of buttons) b.disabled = true;
    problem.textContent = '';
    live.announce(working);
    void action().then(
      // Nothing to say: clear the "working" words rather than leave them standing.
      (done) => live.announce(done ?? ''),
      (e: unknown) => {
        const text = problemText(e);
        problem.textContent = text;
        live.announce(text);
      },
    ).finally(() => {
      busy = false;
      for (const b of buttons) if (b.isConnected) b.disabled = false;
    });
  });
  return form;
}

export function submit(label: string): HTMLButtonElement {
  return el('button', { type: 'submit' }, label);
}

/** A table with a caption and column headers (WCAG 1.3.1), one row per item. */
export function table(caption: string, headers: readonly string[], rows: readonly (readonly (Node | string)[])[]): HTMLTableElement {
  return el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))),
  );
}

/** A date as people read it, in UTC so every admin sees the same. */
export function when(ms: number | string): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
