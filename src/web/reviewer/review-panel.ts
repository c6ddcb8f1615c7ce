/**
 * The reviewer's verdict and notes on one attempt (docs/WEB.md "Notes, verdict and case export"):
 * a panel the reviewer page mounts beside the player. Each save is a new revision, a review record
 * (docs/SPEC.md §13) sealed in this page to the institution's current epoch key and signed with the
 * member's own signing key; the server stores it (PUT /v1/custody/attempts/{attempt}/review) and can
 * read neither. Earlier revisions are listed, each opened here and its author's signature checked.
 *
 * Usage (src/web/reviewer/main.ts, once the member's keys are unlocked and the attempt chosen):
 *
 * ```ts
 * const panel = mountReviewPanel(container, {
 *   api,                      // StaffApi: JSON calls with the staff session (CSRF token included)
 *   institution, attempt,     // the attempt under review, in the session's institution
 *   member,                   // the signed-in member's id: the author of what is saved
 *   signingKey,               // the member's signing private key (unwrapped on this device)
 *   currentEpoch,             // () => the current epoch and its public key, checked along the log
 *   epochKey,                 // (epoch) => the epoch private key from the member's grant, or null
 *   authorKey,                // (member) => that member's signing public key from a verified statement, or null
 *   status,                   // the page's live region (src/web/shared/live.ts)
 * });
 * await panel.loaded;
 * ```
 *
 * The deps carry no trust decisions of their own: `currentEpoch`, `epochKey` and `authorKey` must
 * answer from keys the page verified (docs/WEB.md "Trust"), never from what the server says alone.
 * The newest revision seen is remembered per attempt (localStorage by default), so a server serving an
 * older one as the newest later is caught (EV_ERR_REVIEW_OUT_OF_ORDER).
 */
import {
  type OpenedReview,
  type ReviewContent,
  type Verdict,
  MAX_REVIEW_NOTES,
  fromBase64Url,
  isCryptoError,
  openReviewHistory,
  sealReview,
  toBase64Url,
  verdicts,
} from '../../crypto/index.js';
import type { ReviewListResponse, ReviewWriteResponse } from '../../protocol/review.js';
import { el } from '../shared/dom.js';
import { type Announcer, liveRegion } from '../shared/live.js';

/** Calls to the API with the staff session. Failures throw an error carrying the server's `code` (src/web/shared/api.ts ApiCallError). */
export interface StaffApi {
  json<T>(path: string, init?: { readonly method?: 'GET' | 'POST' | 'PUT'; readonly json?: unknown }): Promise<T>;
  /** A GET answered with bytes (sealed segments). */
  bytes(path: string): Promise<Uint8Array>;
}

/** Where the newest revision seen of each attempt is kept between visits. */
export interface RevisionMemory {
  get(key: string): number | undefined;
  set(key: string, revision: number): void;
}

export interface ReviewPanelDeps {
  readonly api: StaffApi;
  readonly institution: string;
  readonly attempt: string;
  /** The signed-in member: the author of every revision saved here. */
  readonly member: string;
  /** The member's ECDSA signing private key (KEY-CUSTODY §3), unwrapped on this device. */
  readonly signingKey: CryptoKey;
  /** The institution's current epoch and its public key, as the page verified them; asked before every save. */
  readonly currentEpoch: () => Promise<{ readonly epoch: number; readonly publicKey: CryptoKey }>;
  /** The member's private key of an epoch (from its grant), or null when it holds none. */
  readonly epochKey: (epoch: number) => Promise<CryptoKey | null>;
  /** A member's signing public key (65 bytes) from a verified key registration or enrolment, or null. */
  readonly authorKey: (member: string) => Promise<Uint8Array | null>;
  /** The page's live region; without one the panel shows its own. */
  readonly status?: Announcer;
  /** Default: localStorage, under `examvault-review-seen:<institution>/<attempt>`. */
  readonly memory?: RevisionMemory;
}

export interface ReviewPanel {
  /** Settles once the history is shown (or its failure announced). */
  readonly loaded: Promise<void>;
  /** Fetches and opens the history again. */
  reload(): Promise<void>;
}

const verdictLabels: Record<Verdict, string> = {
  undecided: 'Undecided',
  'no-concern': 'No concern',
  concern: 'Concern',
  violation: 'Violation',
};

const localMemory: RevisionMemory = {
  get(key) {
    const v = Number(localStorage.getItem(key));
    return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  },
  set(key, revision) {
    localStorage.setItem(key, String(revision));
  },
};

let panels = 0;

function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(e: unknown): string {
  const code = codeOf(e);
  const message = e instanceof Error ? e.message : String(e);
  return code ? `${message} (${code})` : message;
}

/** Notes as text with line breaks kept, whatever the page's style sheet says (text nodes only: never HTML). */
function lines(text: string): Node[] {
  return text.split('\n').flatMap((line, i) => (i === 0 ? [document.createTextNode(line)] : [document.createElement('br'), document.createTextNode(line)]));
}

function when(ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function mountReviewPanel(container: HTMLElement, deps: ReviewPanelDeps): ReviewPanel {
  const n = ++panels;
  const id = (name: string) => `ev-review-${n}-${name}`;
  const memory = deps.memory ?? localMemory;
  const memoryKey = `examvault-review-seen:${deps.institution}/${deps.attempt}`;
  const path = `/v1/custody/attempts/${encodeURIComponent(deps.attempt)}/review`;

  const ownStatus = deps.status ? null : el('p', { class: 'review-status' });
  const status = deps.status ?? liveRegion(ownStatus as HTMLElement);

  const radios = verdicts.map((v) => el('input', { type: 'radio', name: id('verdict'), value: v, checked: v === 'undecided' }));
  // Each radio inside its label: one line per choice whatever the style sheet does with labels.
  const fieldset = el('fieldset', {},
    el('legend', {}, 'Verdict'),
    ...verdicts.map((v, i) => el('label', { class: 'choice' }, radios[i] as HTMLInputElement, ` ${verdictLabels[v]}`)),
  );
  const notes = el('textarea', { id: id('notes'), rows: '8', cols: '60', maxlength: String(MAX_REVIEW_NOTES), 'aria-describedby': id('notes-hint') });
  const save = el('button', { type: 'submit' }, 'Save verdict and notes');
  const form = el('form', { novalidate: true },
    fieldset,
    el('label', { for: id('notes') }, 'Notes'),
    notes,
    el('p', { id: id('notes-hint'), class: 'hint' }, `Up to ${MAX_REVIEW_NOTES.toLocaleString()} characters. Sealed in this browser: only your institution's approved reviewers can read it. Every save is kept as a new version.`),
    save,
  );
  const history = el('ol', { class: 'review-history', 'aria-labelledby': id('history') });
  const historyNote = el('p', {}, 'Loading earlier versions…');
  container.append(el('section', { class: 'review-panel', 'aria-labelledby': id('heading') },
    el('h2', { id: id('heading') }, 'Verdict and notes'),
    form,
    el('h3', { id: id('history') }, 'Earlier versions'),
    historyNote,
    history,
    ownStatus,
  ));

  let latest: OpenedReview | null = null;
  /** False while the history has not verified: nothing may be chained onto what was not checked. */
  let verified = false;

  function show(opened: readonly OpenedReview[]): void {
    history.replaceChildren(...[...opened].reverse().map((r) => el('li', {},
      el('p', { class: 'review-meta' },
        el('strong', {}, `Version ${r.revision}: ${verdictLabels[r.content.verdict]}`),
        ` · by ${r.author} · ${when(r.content.time)} · signature checked`),
      r.content.notes ? el('p', { class: 'review-notes' }, ...lines(r.content.notes)) : el('p', { class: 'review-notes' }, el('em', {}, 'No notes.')),
    )));
    historyNote.textContent = opened.length === 0 ? 'Nothing saved yet for this attempt.' : `${opened.length} version${opened.length === 1 ? '' : 's'}, newest first.`;
  }

  function fill(content: ReviewContent): void {
    for (const r of radios) r.checked = r.value === content.verdict;
    notes.value = content.notes;
  }

  async function load(keepForm: boolean): Promise<void> {
    verified = false;
    save.disabled = true;
    try {
      const list = await deps.api.json<ReviewListResponse>(path);
      const opened = await openReviewHistory(list.records.map((r) => fromBase64Url(r.record) ?? new Uint8Array(0)), {
        institution: deps.institution,
        attempt: deps.attempt,
        notBefore: memory.get(memoryKey),
        authorKey: (author) => deps.authorKey(author),
        epochKey: (epoch) => deps.epochKey(epoch),
      });
      latest = opened.at(-1) ?? null;
      if (latest) memory.set(memoryKey, latest.revision);
      show(opened);
      if (latest && !keepForm) fill(latest.content);
      verified = true;
    } catch (e) {
      historyNote.textContent = isCryptoError(e)
        ? `The saved versions could not be verified, so none is shown and saving is off: ${describe(e)}. Report this to your institution.`
        : `The saved versions could not be loaded: ${describe(e)}.`;
      status.announce(historyNote.textContent);
    } finally {
      save.disabled = !verified;
    }
  }

  async function store(content: ReviewContent): Promise<ReviewWriteResponse> {
    // One retry: a revocation may have started a new epoch since the page last asked.
    for (let tries = 1; ; tries++) {
      const { epoch, publicKey } = await deps.currentEpoch();
      const record = await sealReview({
        institution: deps.institution,
        attempt: deps.attempt,
        author: deps.member,
        after: latest,
        epoch,
        epochPublicKey: publicKey,
        signingKey: deps.signingKey,
        content,
      });
      try {
        return await deps.api.json<ReviewWriteResponse>(path, { method: 'PUT', json: { record: toBase64Url(record) } });
      } catch (e) {
        if (codeOf(e) !== 'EV_ERR_REVIEW_STALE_EPOCH' || tries >= 2) throw e;
      }
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!verified) return;
    const verdict = (radios.find((r) => r.checked)?.value ?? 'undecided') as Verdict;
    const content: ReviewContent = { verdict, notes: notes.value, time: Date.now() };
    save.disabled = true;
    status.announce('Sealing and saving…');
    void (async () => {
      try {
        const stored = await store(content);
        await load(false);
        status.announce(`Saved as version ${stored.revision}.`);
      } catch (e) {
        if (codeOf(e) === 'EV_ERR_REVIEW_CONFLICT') {
          // Keep what was typed: it is shown again on top of the newer version, to be saved again.
          await load(true);
          status.announce('Not saved: someone saved a newer version meanwhile. It is listed below; your text is still in the form. Save again to add yours on top.');
        } else {
          save.disabled = !verified;
          status.announce(`Not saved: ${describe(e)}. Your text is still in the form; try again.`);
        }
      }
    })();
  });

  const loaded = load(false);
  return { loaded, reload: () => load(false) };
}
