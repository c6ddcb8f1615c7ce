/**
 * Exporting a case (docs/WEB.md "Notes, verdict and case export"): the attempt's complete recordings
 * in one case bundle (docs/SPEC.md §12), made in this page and offered as a download, which the
 * reviewer opens later, offline, with their own member key file alone (`examvault open`).
 *
 * Each recording is unlocked as for watching (audited by the server first), its sealed header and
 * segments fetched and framed as a sealed file (SPEC §7) byte for byte; its data key is unwrapped here
 * with the epoch key and sealed again to the member's own HPKE key, and the member signs the manifest.
 * Recordings still in progress are left out (a sealed file without its final segment does not open)
 * and named in the answer. The bundle is built in memory: a case is meant to be a few recordings.
 *
 * Usage (src/web/reviewer/main.ts): `mountCaseExport(container, deps)` adds the button and the
 * download link; `buildCaseBundle(deps)` alone makes the bytes.
 */
import {
  type MemberPublicKeys,
  createCaseBundle,
  decodeHeader,
  fromBase64Url,
  unwrapRecordingKey,
} from '../../crypto/index.js';
import type { RecordingListResponse, UnlockResponse } from '../../protocol/custody.js';
import { el } from '../shared/dom.js';
import { type Announcer, liveRegion } from '../shared/live.js';
import type { StaffApi } from './review-panel.js';

export interface CaseExportDeps {
  readonly api: StaffApi;
  readonly institution: string;
  readonly attempt: string;
  /** The signed-in member, for whom the bundle is made and who signs it. */
  readonly member: string;
  /** The member's own public keys, as in their key registration: the data keys are sealed to these. */
  readonly memberKeys: MemberPublicKeys;
  /** The member's signing private key. */
  readonly signingKey: CryptoKey;
  /** The member's private key of an epoch (from its grant), or null when it holds none. */
  readonly epochKey: (epoch: number) => Promise<CryptoKey | null>;
  readonly status?: Announcer;
}

export interface BuiltCase {
  readonly bundle: Uint8Array;
  readonly fileName: string;
  readonly recordings: readonly string[];
  /** Recordings left out, and why. */
  readonly skipped: readonly { readonly recording: string; readonly why: string }[];
}

function recordingPath(institution: string, recording: string): string {
  return `/v1/custody/recordings/${encodeURIComponent(institution)}/${encodeURIComponent(recording)}`;
}

/** One recording as the sealed file of SPEC §7: its header, then each segment with its length before it. */
async function sealedFile(api: StaffApi, institution: string, recording: string, unlocked: UnlockResponse, count: number): Promise<Uint8Array> {
  const header = fromBase64Url(unlocked.header);
  if (!header) throw new Error(`the server sent no header for ${recording}`);
  const segments: Uint8Array[] = [];
  for (let i = 0; i < count; i++) segments.push(await api.bytes(`${recordingPath(institution, recording)}/segments/${i}`));
  const file = new Uint8Array(segments.reduce((n, s) => n + 4 + s.length, header.length));
  const view = new DataView(file.buffer);
  file.set(header);
  let at = header.length;
  for (const s of segments) {
    view.setUint32(at, s.length);
    file.set(s, at + 4);
    at += 4 + s.length;
  }
  return file;
}

export async function buildCaseBundle(deps: CaseExportDeps, progress: (message: string) => void = () => undefined): Promise<BuiltCase> {
  const list = await deps.api.json<RecordingListResponse>(`/v1/custody/attempts/${encodeURIComponent(deps.attempt)}/recordings`);
  if (list.exam === null) throw new Error(`no attempt ${deps.attempt} in your institution`);
  const items: { sealed: Uint8Array; dataKey: Uint8Array }[] = [];
  const included: string[] = [];
  const skipped: { recording: string; why: string }[] = [];
  try {
    for (const r of list.recordings) {
      if (!r.complete || r.segmentCount === null || r.segments !== r.segmentCount) {
        skipped.push({ recording: r.recording, why: 'still recording or uploading' });
        continue;
      }
      progress(`Fetching the ${r.track} recording (${included.length + 1} of ${list.recordings.length})…`);
      const unlocked = await deps.api.json<UnlockResponse>(`${recordingPath(deps.institution, r.recording)}/unlock`, { method: 'POST', json: {} });
      const key = await deps.epochKey(unlocked.epoch);
      if (!key) {
        skipped.push({ recording: r.recording, why: `sealed to epoch ${unlocked.epoch}, which you hold no key for` });
        continue;
      }
      const sealed = await sealedFile(deps.api, deps.institution, r.recording, unlocked, r.segmentCount);
      items.push({ sealed, dataKey: await unwrapRecordingKey(decodeHeader(sealed), key) });
      included.push(r.recording);
    }
    if (items.length === 0) throw new Error('the attempt has no complete recording you can open');
    progress('Sealing the case to your own key and signing it…');
    const bundle = await createCaseBundle({
      institution: deps.institution,
      exam: list.exam,
      attempt: deps.attempt,
      member: deps.member,
      keys: deps.memberKeys,
      signingKey: deps.signingKey,
      items,
    });
    return { bundle, fileName: `${deps.attempt}.evcase`, recordings: included, skipped };
  } finally {
    for (const item of items) item.dataKey.fill(0);
  }
}

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A button that builds the case, then a link that saves it (a Blob URL: the page's CSP allows `blob:`). */
export function mountCaseExport(container: HTMLElement, deps: CaseExportDeps): void {
  const ownStatus = deps.status ? null : el('p', { class: 'case-status' });
  const status = deps.status ?? liveRegion(ownStatus as HTMLElement);
  const result = el('div', { class: 'case-result' });
  let url: string | null = null;
  const start = el('button', { type: 'button' }, 'Export case');
  container.append(el('section', { class: 'case-export', 'aria-labelledby': 'ev-case-heading' },
    el('h2', { id: 'ev-case-heading' }, 'Case export'),
    el('p', {}, 'One file with this attempt\'s complete recordings, which only you can open, offline, with your member key file: examvault open --key <your key file> -o <folder> <case file>. Each recording\'s unlock is recorded in the audit log.'),
    start,
    result,
    ownStatus,
  ));
  start.addEventListener('click', () => {
    start.disabled = true;
    status.announce('Exporting the case…');
    void (async () => {
      try {
        const built = await buildCaseBundle(deps, (m) => status.announce(m));
        if (url) URL.revokeObjectURL(url);
        url = URL.createObjectURL(new Blob([built.bundle as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
        const link = el('a', { href: url, download: built.fileName }, `Save ${built.fileName} (${size(built.bundle.length)})`);
        result.replaceChildren(link);
        if (built.skipped.length > 0) result.append(el('p', {}, `Left out: ${built.skipped.map((s) => `${s.recording} (${s.why})`).join('; ')}.`));
        status.announce(`The case is ready: ${built.recordings.length} recording${built.recordings.length === 1 ? '' : 's'}. Use the link to save it.`);
        link.focus();
      } catch (e) {
        const code = (e as { code?: unknown } | null)?.code;
        status.announce(`The case could not be exported: ${e instanceof Error ? e.message : String(e)}${typeof code === 'string' ? ` (${code})` : ''}.`);
      } finally {
        start.disabled = false;
      }
    })();
  });
}
