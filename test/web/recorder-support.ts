/**
 * What the recorder's Chromium tests share: axe-core with screenshots, waiting for a screen, the
 * device check, reading the recorder's IndexedDB from outside the app, media signatures, and opening
 * every stored recording with the epoch private key the page never sees.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { deriveRecoveryKeys, generateMemberKeys, generateRecoverySecret, openRecording } from '../../src/crypto/index.js';
import type { SealedEventDetail } from '../../src/web/recorder/sealed-track.js';
import { type Staff, registrationBody, setUpBody } from '../server/custody/support.js';
import type { LtiScenario } from '../server/lti/support.js';
import { buildApp } from '../../src/server/app.js';
import type { CleanupScope, TestInstitution, TestServer } from '../server/support/test-server.js';
import { chromiumArgs, closeBrowserThenServer } from '../support/browser.js';
import { builtWebApps } from '../support/web-build.js';

/** The built apps served by `s` on a loopback port, and a headless Chromium; both closed after the test. */
export async function servedInChromium(t: CleanupScope, s: TestServer, executablePath: string): Promise<{ origin: string; browser: Browser }> {
  const app = buildApp(s.config, s.services, { webDir: await builtWebApps() });
  const closing = closeBrowserThenServer(t, app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const browser = closing(await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs] }));
  return { origin: `http://localhost:${(app.server.address() as AddressInfo).port}`, browser };
}

/** Where screenshots go: test-results/<name>/. */
export const shotsDir = (name: string): string => join(process.cwd(), 'test-results', name);
const axeSource = readFile(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Media signatures, each a magic number and a marker right after it: long enough never to turn up by
 * chance in megabytes of ciphertext.
 */
const signatures: readonly { name: string; magic: Buffer; marker: Buffer; within: number }[] = [
  { name: 'WebM (EBML header naming webm)', magic: Buffer.from('1a45dfa3', 'hex'), marker: Buffer.from('webm'), within: 48 },
  { name: 'JPEG (JFIF)', magic: Buffer.from('ffd8ffe0', 'hex'), marker: Buffer.from('JFIF'), within: 8 },
  { name: 'JPEG (Exif)', magic: Buffer.from('ffd8ffe1', 'hex'), marker: Buffer.from('Exif'), within: 8 },
  { name: 'PNG', magic: Buffer.from('89504e470d0a1a0a', 'hex'), marker: Buffer.from('IHDR'), within: 16 },
  { name: 'Opus stream header', magic: Buffer.from('OpusHead'), marker: Buffer.alloc(0), within: 0 },
];

export function mediaSignature(bytes: Uint8Array): string | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const sig of signatures) {
    for (let at = b.indexOf(sig.magic); at !== -1; at = b.indexOf(sig.magic, at + 1)) {
      if (b.subarray(at, at + sig.magic.length + sig.within + sig.marker.length).includes(sig.marker)) return sig.name;
    }
  }
  return null;
}

/** axe-core finds no violation on the page; the screen is saved as <dir>/<screen>.png. */
export async function axeCheck(page: Page, dir: string, screen: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern; the page itself can load no script but its own.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; help: string; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
  });
  assert.deepEqual(violations, [], `axe-core on the ${screen} screen`);
  await page.screenshot({ path: join(dir, `${screen}.png`), fullPage: true });
}

export async function heading(page: Page, text: string): Promise<void> {
  try {
    await page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: 30_000 });
  } catch (e) {
    // Say what the page shows instead: the step that failed is then plain from the report.
    const shown = await page.locator('body').innerText().catch(() => '(unreadable)');
    throw new Error(`expected the screen "${text}", the page shows:\n${shown}`, { cause: e });
  }
}

export async function passDeviceCheck(page: Page, dir: string, screenName: string | null): Promise<void> {
  await heading(page, 'Check your camera, microphone and screen');
  await page.getByRole('button', { name: 'Check camera and microphone' }).click();
  await page.locator('#camera-result.ok').waitFor();
  await page.getByRole('button', { name: 'Share your screen' }).click();
  await page.locator('#screen-result.ok').waitFor();
  if (screenName) await axeCheck(page, dir, screenName);
  await page.getByRole('button', { name: 'Start recording' }).click();
  await heading(page, 'Recording');
}

/**
 * Every record of the recorder's IndexedDB, as raw bytes (read by the test, not by the app). A string,
 * not a function: tsx would wrap the function's inner helpers in a `__name` the page does not have.
 */
const readVaultScript = `(async () => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open('examvault-recorder');
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const all = (store) => new Promise((resolve, reject) => {
    const r = db.transaction(store).objectStore(store).getAll();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  const b64 = (u) => {
    let s = '';
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
    return btoa(s);
  };
  const sealed = await all('sealed');
  const recordings = await all('recordings');
  const entries = await all('segments');
  db.close();
  const keys = recordings.filter((r) => r.sealer).map((r) => ({ extractable: r.sealer.payloadKey.extractable, usages: r.sealer.payloadKey.usages, fields: Object.keys(r.sealer).sort() }));
  return { segments: sealed.map((bytes) => b64(bytes)), entries: entries.length, headers: recordings.map((r) => b64(r.header)), keys };
})()`;

/**
 * What the recorder pinned for an institution: in store `roots` the recovery-key fingerprint, in
 * store `logs` the audit log key and checkpoint.
 */
export function pinnedRootScript(institution: string, store: 'roots' | 'logs' = 'roots'): string {
  return `new Promise((resolve, reject) => {
    const r = indexedDB.open('examvault-recorder');
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const get = r.result.transaction(${JSON.stringify(store)}).objectStore(${JSON.stringify(store)}).get(${JSON.stringify(institution)});
      get.onsuccess = () => { r.result.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
  })`;
}

/** What a recording in progress keeps to be resumed: its payload key's properties, never its bytes. */
export interface KeptSealer {
  readonly extractable: boolean;
  readonly usages: readonly string[];
  readonly fields: readonly string[];
}

export function readVault(page: Page): Promise<{ segments: string[]; entries: number; headers: string[]; keys: KeptSealer[] }> {
  return page.evaluate(readVaultScript);
}

/** A recording's sealer state in IndexedDB holds a non-extractable, encrypt-only key and nothing else secret. */
export function assertSealersSafe(keys: readonly KeptSealer[], recordings: number): void {
  assert.equal(keys.length, recordings, 'each recording in progress keeps its sealer state');
  for (const k of keys) assert.deepEqual(k, { extractable: false, usages: ['encrypt'], fields: ['header', 'noncePrefix', 'payloadKey'] });
}

export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}


/** A recording as the custody listing (GET /v1/custody/attempts/{attempt}/recordings) shows it. */
export interface StoredListing {
  readonly recording: string;
  readonly track: string;
  readonly epoch: number;
  readonly segments: number;
  readonly complete: boolean;
  readonly segmentCount: number | null;
}

export interface StoredCheck {
  /** What the page announced as it sealed (`examvault:sealed`). */
  readonly sealed: readonly SealedEventDetail[];
  /** Recordings per track: one, whatever the reloads (a reloaded page continues the same ones), plus one per epoch change. */
  readonly recordingsPerTrack: number;
  readonly epoch: number;
  readonly privateKey: CryptoKey;
  readonly attempt: string;
  /** The server's data directory, scanned for media and plaintext. */
  readonly dataDir: string;
  /** The recorder's IndexedDB, read while segments waited. */
  readonly vaultDuringOutage: { segments: string[]; headers: string[] };
  listed(): Promise<StoredListing[]>;
  /** A GET of the upload API with the attempt credential: the body's bytes. */
  get(path: string): Promise<Uint8Array>;
}

/**
 * Every recording the server lists is exactly one the page made, closed with its final segment and
 * complete, reloads or not; every announced segment is stored once, with no gap, and opens with the epoch private key to the SHA-256 the page announced; each
 * piece is a standalone WebM (JPEG for snapshots); and nothing at rest in IndexedDB or the server's
 * data directory holds a media signature or a sample of the plaintext.
 */
export async function checkStored(o: StoredCheck): Promise<{ plaintexts: Buffer[]; mediaSeconds: number }> {
  // What the page sealed, by recording: each index announced exactly once.
  const announced = new Map<string, Map<number, SealedEventDetail>>();
  for (const d of o.sealed) {
    const m = announced.get(d.recording) ?? new Map<number, SealedEventDetail>();
    assert.ok(!m.has(d.index), `segment ${d.index} of ${d.recording} sealed twice`);
    m.set(d.index, d);
    announced.set(d.recording, m);
  }
  const byTrack = (track: string) => [...announced.values()].filter((m) => m.get(0)?.track === track);
  for (const track of ['camera', 'microphone', 'screen', 'snapshot']) assert.equal(byTrack(track).length, o.recordingsPerTrack, `${o.recordingsPerTrack} ${track} recording(s): a reload continues the same one`);

  // The server's view, through the custody listing: exactly the recordings the page made.
  const recordings = await o.listed();
  assert.deepEqual(recordings.map((r) => r.recording).sort(), [...announced.keys()].sort());

  const plaintexts: Buffer[] = [];
  let mediaSeconds = 0;
  for (const r of recordings) {
    const mine = announced.get(r.recording) as Map<number, SealedEventDetail>;
    const count = mine.size;
    assert.equal(r.epoch, o.epoch, 'sealed to the epoch the trusted statements announce');
    assert.equal(r.segments, count, `${r.recording}: every sealed segment stored, none extra`);
    const status = JSON.parse(Buffer.from(await o.get(`/v1/recordings/${r.recording}`)).toString('utf8')) as { stored: unknown };
    assert.deepEqual(status.stored, [[0, count - 1]], `${r.recording}: no gap`);
    // Reloads included, every recording ends with the final flag and is complete on the server.
    assert.equal(mine.get(count - 1)?.last, true, `${r.recording}: closed with its final segment`);
    assert.ok([...mine.values()].filter((d) => d.last).length === 1, `${r.recording}: one final segment`);
    assert.equal(r.complete, true, `${r.recording}: complete on the server`);
    assert.equal(r.segmentCount, count);

    const opener = await openRecording(await o.get(`/v1/recordings/${r.recording}/header`), o.privateKey);
    assert.equal(opener.header.context.track, r.track);
    assert.equal(opener.header.context.attempt, o.attempt);
    for (let i = 0; i < count; i++) {
      const opened = await opener.openSegment(i, await o.get(`/v1/recordings/${r.recording}/segments/${i}`));
      const expected = mine.get(i) as SealedEventDetail;
      assert.equal(createHash('sha256').update(opened.plaintext).digest('hex'), expected.plaintextSha256, `${r.recording} segment ${i} decrypts to what the page sealed`);
      assert.equal(opened.last, expected.last);
      if (opened.plaintext.length === 0) continue;
      const plain = Buffer.from(opened.plaintext);
      plaintexts.push(plain);
      // Each piece stands alone: a WebM file from its first byte, or a JPEG.
      if (r.track === 'snapshot') assert.ok(mediaSignature(plain.subarray(0, 64))?.startsWith('JPEG'), 'a snapshot is a JPEG');
      else {
        assert.equal(mediaSignature(plain.subarray(0, 64)), 'WebM (EBML header naming webm)', `${r.track} piece ${i} starts with its own WebM header`);
        if (r.track === 'camera') mediaSeconds += 4;
      }
    }
  }

  // Nothing sealed at rest, in the browser or on the server, shows media or any piece of it.
  // Samples from inside each plaintext; runs of padding (a few distinct bytes) could match any file, so only varied ones count.
  const samples = plaintexts
    .flatMap((p) => [0.25, 0.5, 0.75].map((f) => p.subarray(Math.floor(p.length * f), Math.floor(p.length * f) + 32)))
    .filter((x) => x.length === 32 && new Set(x).size >= 16);
  assert.ok(samples.length >= plaintexts.length, `enough plaintext samples (${samples.length})`);
  const idbBlobs = [...o.vaultDuringOutage.segments, ...o.vaultDuringOutage.headers].map((b) => Buffer.from(b, 'base64'));
  const stores: [string, Buffer][] = [
    ...idbBlobs.map((b, i): [string, Buffer] => [`IndexedDB record ${i}`, b]),
    ...(await Promise.all((await filesUnder(o.dataDir)).map(async (f): Promise<[string, Buffer]> => [f, await readFile(f)]))),
  ];
  assert.ok(stores.reduce((n, [, b]) => n + b.length, 0) > plaintexts.reduce((n, p) => n + p.length, 0), 'the scan covers at least as many bytes as were recorded');
  for (const [where, bytes] of stores) {
    assert.equal(mediaSignature(bytes), null, `${where} holds media`);
    for (const sample of samples) assert.equal(bytes.indexOf(sample), -1, `${where} holds plaintext`);
  }
  return { plaintexts, mediaSeconds };
}

/** The LTI scenario's institution set up by its admin's client: recovery key → admin enrolment → epoch 1. */
export async function setUpLtiInstitution(s: LtiScenario): Promise<void> {
  const admin = { id: 'stf-lti-admin', role: 'admin', institution: { id: s.institution, region: 'eu', keys: s.epochKeys } as unknown as TestInstitution, keys: await generateMemberKeys(), get: {}, send: {} } as Staff;
  const registered = await s.api('PUT', '/v1/custody/me/keys', await registrationBody(admin));
  assert.equal(registered.status, 200, registered.body);
  const setUp = await s.api('PUT', '/v1/custody/recovery', await setUpBody(admin, await deriveRecoveryKeys(generateRecoverySecret())));
  assert.equal(setUp.status, 201, setUp.body);
}

/**
 * Lets the context reach the server and the LMS only (anything else is a problem), and notes every
 * URL of the server and its POSTs other than uploads.
 */
export async function watchLtiTraffic(context: BrowserContext, s: Pick<LtiScenario, 'origin' | 'lms'>): Promise<{ problems: string[]; urls: string[]; posts: string[] }> {
  const problems: string[] = [];
  const urls: string[] = [];
  const posts: string[] = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== s.origin && url.origin !== s.lms.origin) {
      problems.push(`blocked a request off the server and the LMS: ${url}`);
      return route.abort('blockedbyclient');
    }
    if (url.origin === s.origin) urls.push(url.toString());
    if (url.origin === s.origin && route.request().method() === 'POST' && !url.pathname.startsWith('/v1/recordings')) posts.push(url.pathname);
    return route.continue();
  });
  return { problems, urls, posts };
}
