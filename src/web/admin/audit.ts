/**
 * The audit log, checked in the page (docs/AUDIT-LOG.md "Reading the log"): each entry the server
 * serves comes with its RFC 6962 inclusion proof against a signed checkpoint. The page verifies the
 * checkpoint's signature with the log key this browser pinned (on first use), recomputes each
 * entry's leaf from its fields and follows its proof to the checkpoint's root (src/crypto/merkle
 * `verifyEntryPage`), one entry at a time so that each row says whether it verified.
 *
 * What this shows: the entries listed are in the log the pinned key signed, unchanged. What it cannot
 * show: that none was left out (an auditor checks a whole export with `examvault audit verify`).
 */
import { parseVerifierKey, verifyEntryPage } from '../../crypto/merkle/index.js';
import type { CheckpointResponse, EntriesResponse, ProvenEntryJson } from '../../protocol/audit.js';
import { callJson } from '../shared/api.js';
import { el, showScreen } from '../shared/dom.js';
import type { Admin } from './custody.js';
import { pin } from './pins.js';
import { APP, problemText, table, when } from './ui.js';

/** At most this many of the newest entries are listed. */
const SHOWN = 200;

/** What an event's payload says, in one line: ids only, as the log holds (never a secret). */
function details(payload: ProvenEntryJson['payload']): string {
  return Object.entries(payload)
    .filter(([k]) => !['statement', 'enrolment', 'epochStatement'].includes(k))
    .map(([k, v]) => `${k}: ${typeof v === 'string' && v.length > 24 ? `${v.slice(0, 22)}…` : JSON.stringify(v)}`)
    .join(', ');
}

export async function auditScreen(admin: Admin): Promise<void> {
  const head = await callJson<CheckpointResponse>('/v1/audit/checkpoint');
  const pinned = await pin(`log:${location.origin}`, head.logKey);
  const key = await parseVerifierKey(pinned);
  const entries: { entry: ProvenEntryJson; checkpoint: string }[] = [];
  // Pages against one checkpoint size, so that the proofs all lead to the same signed root.
  for (let from: number | null = 0; from !== null;) {
    const page: EntriesResponse = await callJson<EntriesResponse>(`/v1/audit/entries?from=${from}&limit=500&size=${head.size}`);
    for (const entry of page.entries) entries.push({ entry, checkpoint: page.checkpoint });
    from = page.next;
  }
  const newest = entries.slice(-SHOWN).reverse();
  let verifiedCount = 0;
  const rows = [];
  for (const { entry, checkpoint } of newest) {
    let verdict: HTMLElement;
    try {
      await verifyEntryPage({ checkpoint, entries: [entry] }, key);
      verifiedCount++;
      verdict = el('span', { class: 'ok' }, 'Verified');
    } catch (e) {
      verdict = el('span', { class: 'error' }, `Not verified: ${problemText(e)}`);
    }
    rows.push([String(entry.seq), when(entry.createdAt), entry.type, details(entry.payload), verdict]);
  }
  const all = verifiedCount === newest.length;
  showScreen(admin.main, 'Audit log', APP,
    el('p', {}, 'Every security event of your institution is written here before it takes effect: sign-ins, key registrations, approvals, revocations, unlocks of recordings and deletions.'),
    el('p', { id: 'audit-summary', class: all ? 'ok' : 'error' },
      all
        ? `All ${newest.length} entries shown are verified: each is in the log signed by the pinned log key (log size ${head.size}).`
        : `${newest.length - verifiedCount} of ${newest.length} entries could NOT be verified. Tell your operator.`),
    el('p', { class: 'hint' }, `Log key pinned in this browser: ${pinned}. Compare it with the one your operator publishes.`),
    newest.length === 0 ? el('p', {}, 'No entry yet.') : table(`The newest ${newest.length} entries, newest first`, ['Number', 'Time', 'Event', 'Details', 'Proof'], rows),
  );
  admin.live.announce(all ? `Audit log: ${newest.length} entries, all verified.` : `Audit log: ${newest.length - verifiedCount} entries not verified.`);
}
