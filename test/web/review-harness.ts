/**
 * A test-only page script (bundled by test/web/review.browser.test.ts with esbuild, served by that
 * test's own app instance under the pages' CSP): it does what the reviewer app's main.ts will do
 * before it mounts the review panel and the case export, in the plainest way. It unlocks the member's
 * keys from GET /v1/custody/me/keys with the passphrase, opens its grant, and hands both modules
 * their deps.
 *
 * One shortcut, which the reviewer app must not take: the epoch public key is the one GET
 * /v1/custody/epoch serves, not one checked along the signed statements (docs/WEB.md "Trust"); the
 * grant still opens only for that key. Other authors' keys come with the config.
 */
import {
  fromBase64Url,
  importPublicKeyText,
  openGrant,
  unwrapPrivateKey,
} from '../../src/crypto/index.js';
import type { EpochResponse } from '../../src/protocol/custody.js';
import { mountCaseExport } from '../../src/web/reviewer/case-export.js';
import { type StaffApi, mountReviewPanel } from '../../src/web/reviewer/review-panel.js';
import { liveRegion } from '../../src/web/shared/live.js';

export interface HarnessConfig {
  readonly csrfToken: string;
  readonly passphrase: string;
  readonly institution: string;
  readonly attempt: string;
  readonly member: string;
  /** Other members' signing public keys (base64url), standing in for their verified statements. */
  readonly authors?: Readonly<Record<string, string>>;
}

class HarnessCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function staffApi(csrfToken: string): StaffApi {
  const send = async (path: string, init: { method?: string; json?: unknown } = {}): Promise<Response> => {
    const r = await fetch(path, {
      method: init.method ?? 'GET',
      headers: { 'x-ev-csrf': csrfToken, ...(init.json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
      credentials: 'same-origin',
    });
    if (!r.ok) {
      const body = (await r.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      throw new HarnessCallError(r.status, body.error?.code ?? 'EV_ERR_API_INTERNAL', body.error?.message ?? `status ${r.status}`);
    }
    return r;
  };
  return {
    json: async <T>(path: string, init?: { method?: string; json?: unknown }) => (await send(path, init)).json() as Promise<T>,
    bytes: async (path: string) => new Uint8Array(await (await send(path)).arrayBuffer()),
  };
}

async function start(config: HarnessConfig): Promise<void> {
  const api = staffApi(config.csrfToken);
  const main = document.getElementById('main') as HTMLElement;
  const status = liveRegion(document.getElementById('live') as HTMLElement);
  const me = await api.json<{ hpkePublicKey: string; signingPublicKey: string; wrappedKeys: Record<string, unknown> }>('/v1/custody/me/keys');
  const owner = { institution: config.institution, owner: config.member };
  const [hpke, signing] = await Promise.all([
    unwrapPrivateKey(me.wrappedKeys['reviewer-hpke'], { purpose: 'reviewer-hpke', ...owner }, { passphrase: config.passphrase }),
    unwrapPrivateKey(me.wrappedKeys['reviewer-signing'], { purpose: 'reviewer-signing', ...owner }, { passphrase: config.passphrase }),
  ]);
  const keys = { hpkePublicKey: hpke.publicKey, signingPublicKey: signing.publicKey };
  const served = await api.json<EpochResponse>('/v1/custody/epoch');
  const { grants } = await api.json<{ grants: { epoch: number; grant: unknown }[] }>('/v1/custody/me/grant');
  const epochKeys = new Map<number, CryptoKey>();
  for (const g of grants) {
    if (g.epoch !== served.epoch) continue;
    const epochPublicKey = fromBase64Url(served.publicKey) as Uint8Array;
    epochKeys.set(g.epoch, await openGrant(g.grant, { institution: config.institution, epoch: g.epoch, epochPublicKey }, { kind: 'member', member: config.member, keys }, hpke.privateKey));
  }
  const epochKey = (epoch: number) => Promise.resolve(epochKeys.get(epoch) ?? null);

  const panel = el('div');
  const exporter = el('div');
  main.append(panel, exporter);
  await mountReviewPanel(panel, {
    api,
    institution: config.institution,
    attempt: config.attempt,
    member: config.member,
    signingKey: signing.privateKey,
    currentEpoch: async () => {
      const e = await api.json<EpochResponse>('/v1/custody/epoch');
      return { epoch: e.epoch, publicKey: await importPublicKeyText(e.publicKey) };
    },
    epochKey,
    authorKey: (author) => Promise.resolve(author === config.member ? signing.publicKey : fromBase64Url(config.authors?.[author] ?? '')),
    status,
  }).loaded;
  mountCaseExport(exporter, { api, institution: config.institution, attempt: config.attempt, member: config.member, memberKeys: keys, signingKey: signing.privateKey, epochKey, status });
}

function el(tag: 'div'): HTMLDivElement {
  return document.createElement(tag);
}

(globalThis as unknown as { startHarness: typeof start }).startHarness = start;
