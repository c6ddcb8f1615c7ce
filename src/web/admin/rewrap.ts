/**
 * Moving older recordings to the current epoch after a revocation (docs/CUSTODY-SERVER.md
 * "Re-wrapping older recordings"), in the page: for each recording still sealed to an older epoch,
 * the admin's own grant for that epoch opens the old epoch key, `rewrapHeader` (src/crypto) unwraps
 * the recording's data key and wraps it to the current epoch key, and the new header replaces the
 * old one (`PUT …/header`). Segments are not touched; the server shreds the old header.
 *
 * The current epoch key is the one the signed chain proves (custody.ts). An old epoch's key is opened
 * against the public key its grant names: it only ever unwraps, and a key that is not the recording's
 * fails to (the recording is then left as it is and counted).
 */
import { fromBase64Url, importPublicKey, rewrapHeader, toBase64Url } from '../../crypto/index.js';
import type { RewrapPendingResponse, RewrapRequest } from '../../protocol/custody.js';
import { callJson } from '../shared/api.js';
import { openOwnGrant } from '../shared/staff-keys.js';
import { staffJson } from '../shared/staff-session.js';
import { type Admin, trustedEpoch } from './custody.js';

export async function rewrapOlderRecordings(admin: Admin): Promise<{ moved: number; left: number }> {
  const { epoch, publicKey } = await trustedEpoch(admin);
  const recipient = await importPublicKey(publicKey);
  const { grants } = await callJson<{ grants: { epoch: number; grant: { epochPublicKey?: string } }[] }>('/v1/custody/me/grant');
  const oldKeys = new Map<number, Promise<CryptoKey | null>>();
  const oldKey = (e: number): Promise<CryptoKey | null> => {
    let key = oldKeys.get(e);
    if (!key) {
      const g = grants.find((x) => x.epoch === e);
      const epochPublicKey = g?.grant.epochPublicKey ? fromBase64Url(g.grant.epochPublicKey) : null;
      key = g && epochPublicKey ? openOwnGrant(admin.keys, g.grant, { epoch: e, epochPublicKey }) : Promise.resolve(null);
      oldKeys.set(e, key);
    }
    return key;
  };
  let moved = 0;
  let left = 0;
  for (;;) {
    const pending = await callJson<RewrapPendingResponse>('/v1/custody/rewrap/pending');
    if (pending.currentEpoch !== epoch) throw new Error('The current epoch changed meanwhile. Open the page again.');
    let movedNow = 0;
    for (const r of pending.recordings) {
      const key = await oldKey(r.epoch);
      const header = fromBase64Url(r.header);
      if (!key || !header) {
        left++;
        continue;
      }
      const rewrapped = await rewrapHeader(header, key, recipient, epoch);
      const body: RewrapRequest = { header: toBase64Url(rewrapped.bytes) };
      await staffJson(admin.me, `/v1/custody/recordings/${encodeURIComponent(pending.institution)}/${encodeURIComponent(r.recording)}/header`, { method: 'PUT', json: body });
      movedNow++;
    }
    moved += movedNow;
    // A page with nothing this admin can move would be served again: stop rather than loop.
    if (!pending.more || movedNow === 0) return { moved, left };
  }
}
