/**
 * The recorder end to end in headless Chromium (fake camera, microphone and screen; loopback only),
 * against a real server (real cells, SQLite, blobs encrypted at rest) serving the built apps with
 * their CSP and SRI:
 *
 *   start (exam code typed in the form) → consent → device check → record camera + microphone +
 *   screen + snapshots → network cut for 10 s → tab reloaded mid-recording → continue → the
 *   server's listener closed for 4 s and opened again → finish.
 *
 * Then, outside the page, every recording the server holds for the attempt is opened with the
 * institution's epoch private key, which the page never sees. The page announced each segment it
 * sealed (`examvault:sealed`: recording, index, SHA-256 of the plaintext); each decrypted segment
 * must hash to what the page announced, every announced segment must be stored exactly once, and
 * nothing else may be. The epoch key is one a revocation statement announced: the page checked it
 * along the chain from the institution's recovery key (pinned on first use) before sealing anything,
 * and refuses to record when a hand-off names another root.
 *
 * Also: nothing in IndexedDB (read during the outage, when segments pile up) or anywhere in the
 * server's data directory holds a media signature or a piece of the plaintext; axe-core finds no
 * violation on any screen; each screen is saved under test-results/recorder/.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Page, chromium } from 'playwright-core';
import {
  type EpochKeyPair,
  generateEpochKeyPair,
  memberFingerprint,
  openRecording,
  toBase64Url,
} from '../../src/crypto/index.js';
import { buildApp } from '../../src/server/app.js';
import { HANDOFF_KEY } from '../../src/web/recorder/handoff.js';
import type { SealedEventDetail } from '../../src/web/recorder/sealed-track.js';
import { addStaff, recoveryOf, register, revocationBody } from '../server/custody/support.js';
import { startTestServer } from '../server/support/test-server.js';
import { chromiumArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';

const shots = join(process.cwd(), 'test-results', 'recorder');
const axeSource = readFile(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function mediaSignature(bytes: Uint8Array): string | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const sig of signatures) {
    for (let at = b.indexOf(sig.magic); at !== -1; at = b.indexOf(sig.magic, at + 1)) {
      if (b.subarray(at, at + sig.magic.length + sig.within + sig.marker.length).includes(sig.marker)) return sig.name;
    }
  }
  return null;
}

async function axeCheck(page: Page, screen: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern; the page itself can load no script but its own.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; help: string; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')})`);
  });
  assert.deepEqual(violations, [], `axe-core on the ${screen} screen`);
  await page.screenshot({ path: join(shots, `${screen}.png`), fullPage: true });
}

async function heading(page: Page, text: string): Promise<void> {
  try {
    await page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: 30_000 });
  } catch (e) {
    // Say what the page shows instead: the step that failed is then plain from the report.
    const shown = await page.locator('body').innerText().catch(() => '(unreadable)');
    throw new Error(`expected the screen "${text}", the page shows:\n${shown}`, { cause: e });
  }
}

async function passDeviceCheck(page: Page, screenName: string | null): Promise<void> {
  await heading(page, 'Check your camera, microphone and screen');
  await page.getByRole('button', { name: 'Check camera and microphone' }).click();
  await page.locator('#camera-result.ok').waitFor();
  await page.getByRole('button', { name: 'Share your screen' }).click();
  await page.locator('#screen-result.ok').waitFor();
  if (screenName) await axeCheck(page, screenName);
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
  return { segments: sealed.map((bytes) => b64(bytes)), entries: entries.length, headers: recordings.map((r) => b64(r.header)) };
})()`;

/** The recovery-key fingerprint the recorder pinned for an institution. */
function pinnedRootScript(institution: string): string {
  return `new Promise((resolve, reject) => {
    const r = indexedDB.open('examvault-recorder');
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const get = r.result.transaction('roots').objectStore('roots').get(${JSON.stringify(institution)});
      get.onsuccess = () => { r.result.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
  })`;
}

function readVault(page: Page): Promise<{ segments: string[]; entries: number; headers: string[] }> {
  return page.evaluate(readVaultScript);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe('the recorder in a real browser', () => {
  it('records, survives a network cut and a reload, and every segment opens to what the page sealed', { timeout: 240_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    await mkdir(shots, { recursive: true });

    // The institution: its first admin sets it up (recovery key → admin enrolment → epoch 1), then
    // revokes a reviewer, which starts epoch 2 with a signed revocation statement announcing its key.
    // The recorder must check that statement along the chain from the recovery key.
    const s = await startTestServer(t);
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    const reviewer = await addStaff(s, inst, 'rev-1', 'reviewer');
    await register(s, admin);
    await register(s, reviewer);
    const epoch2: EpochKeyPair = await generateEpochKeyPair();
    const revoked = await s.app.inject({ method: 'POST', url: '/v1/custody/revocations', headers: admin.send, payload: await revocationBody(admin, reviewer.id, 2, epoch2) });
    assert.equal(revoked.statusCode, 201, revoked.body);
    const rootFingerprint = toBase64Url(await memberFingerprint(recoveryOf(inst)));
    const attempt = await s.attempt(inst);

    const webDir = await builtWebApps();
    const app = buildApp(s.config, s.services, { webDir });
    t.after(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const origin = `http://localhost:${port}`;

    const browser = await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
    t.after(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1024, height: 900 } });
    const errors: string[] = [];
    await context.route('**/*', (route) => {
      if (new URL(route.request().url()).origin === origin) return route.continue();
      errors.push(`blocked a request off the server: ${route.request().url()}`);
      return route.abort('blockedbyclient');
    });
    // What the page announces as it seals, kept by the test across reloads.
    const sealed: SealedEventDetail[] = [];
    await context.exposeBinding('__examvaultSealed', (_source, detail: SealedEventDetail) => void sealed.push(detail));
    await context.addInitScript(() => {
      document.addEventListener('examvault:sealed', (e) => (window as unknown as { __examvaultSealed(d: unknown): void }).__examvaultSealed((e as CustomEvent).detail));
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      // Chromium reports the fetches that fail while offline or while the server is down, which the recorder expects and retries.
      // (A closing Fastify answers 503 to requests that arrive meanwhile.)
      if (m.type() === 'error' && !/Failed to load resource: (net::ERR_(INTERNET_DISCONNECTED|CONNECTION_REFUSED)|the server responded with a status of 503)/.test(m.text())) errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));

    // A hand-off naming another institution root than the one the server's chain starts from: the
    // recorder cannot confirm the served key and refuses.
    await page.goto(`${origin}/app/recorder/`);
    await heading(page, 'Start your exam recording');
    await page.evaluate(([key, value]) => sessionStorage.setItem(key as string, value as string), [HANDOFF_KEY, JSON.stringify({ trust: { rootFingerprint: toBase64Url(new Uint8Array(32).fill(7)) } })]);
    await page.reload();
    await heading(page, 'Start your exam recording');
    await page.getByLabel('Exam code').fill(attempt.token);
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Recording cannot start');
    await axeCheck(page, '0-cannot-start');
    // Without a hand-off, this browser's first use of the institution: the served root is taken and pinned.
    await page.reload();
    await heading(page, 'Start your exam recording');
    await axeCheck(page, '1-start');
    await page.getByLabel('Exam code').fill('not a code');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('#credential-error').waitFor();
    await axeCheck(page, '1b-start-error');
    assert.equal(new URL(page.url()).search + new URL(page.url()).hash, '', 'the code never reaches the URL');
    await page.getByLabel('Exam code').fill(attempt.token);
    await page.getByRole('button', { name: 'Continue' }).click();

    await heading(page, 'Before you start: what is recorded');
    const consent = await page.locator('main').innerText();
    for (const words of ['Camera', 'Microphone', 'Screen', 'Still pictures', 'the European Union', 'approved']) assert.ok(consent.includes(words), `consent names ${words}`);
    await axeCheck(page, '2-consent');
    assert.equal(await page.evaluate(pinnedRootScript(inst.id)), rootFingerprint, 'the institution root is pinned on first use');
    await page.getByRole('button', { name: 'I agree, continue' }).click();
    await passDeviceCheck(page, '3-device-check');
    await axeCheck(page, '4-recording');
    assert.equal(new URL(page.url()).search + new URL(page.url()).hash, '');

    // Record, then cut the network for 10 s: segments pile up, sealed, in IndexedDB.
    await sleep(9_000);
    await context.setOffline(true);
    await page.locator('[data-connection="offline"]').first().waitFor({ timeout: 15_000 });
    await sleep(10_000);
    const vaultDuringOutage = await readVault(page);
    const pendingShown = Number(await page.locator('[data-pending]').first().getAttribute('data-pending'));
    assert.ok(pendingShown > 0, 'the page shows what is waiting');
    assert.ok(vaultDuringOutage.segments.length >= 4, `segments wait in IndexedDB during the outage (${vaultDuringOutage.segments.length})`);
    assert.equal(vaultDuringOutage.entries, vaultDuringOutage.segments.length, 'one entry per sealed segment');
    assert.match(await page.locator('#live').innerText(), /Connection lost/);
    await axeCheck(page, '5-offline');
    await context.setOffline(false);
    await sleep(4_000);

    // Reload mid-recording: what was sealed survives; recording continues in new recordings.
    await page.reload();
    await heading(page, 'Your recording was interrupted');
    await axeCheck(page, '6-interrupted');
    await page.getByRole('button', { name: 'Continue recording' }).click();
    await passDeviceCheck(page, null);
    await sleep(5_000);

    // The server goes away for 4 s and comes back (same data, a new listener on the same port).
    await app.close();
    const downSince = Date.now();
    await page.locator('[data-connection="offline"]').first().waitFor({ timeout: 8_000 });
    await sleep(Math.max(0, 4_000 - (Date.now() - downSince)));
    const restarted = buildApp(s.config, s.services, { webDir });
    t.after(() => restarted.close());
    await restarted.listen({ host: '127.0.0.1', port });
    await sleep(7_000);
    await page.getByRole('button', { name: 'Finish recording' }).click();
    await page.locator('#all-sent').waitFor({ timeout: 60_000 });
    await axeCheck(page, '7-all-sent');
    const vaultAfter = await readVault(page);
    assert.deepEqual(vaultAfter, { segments: [], entries: 0, headers: [] }, 'nothing is left waiting once the server acknowledged everything');
    await browser.close();

    // What the page sealed, by recording: each index announced exactly once.
    const announced = new Map<string, Map<number, SealedEventDetail>>();
    for (const d of sealed) {
      const m = announced.get(d.recording) ?? new Map<number, SealedEventDetail>();
      assert.ok(!m.has(d.index), `segment ${d.index} of ${d.recording} sealed twice`);
      m.set(d.index, d);
      announced.set(d.recording, m);
    }
    const byTrack = (track: string) => [...announced.values()].filter((m) => m.get(0)?.track === track);
    for (const track of ['camera', 'microphone', 'screen', 'snapshot']) assert.equal(byTrack(track).length, 2, `one ${track} recording before the reload and one after`);

    // The server's view, through the custody listing: exactly the recordings the page made.
    const listed = await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${attempt.attempt}/recordings`, headers: admin.get });
    assert.equal(listed.statusCode, 200, listed.body);
    const recordings = listed.json().recordings as { recording: string; track: string; epoch: number; segments: number; complete: boolean; segmentCount: number | null }[];
    assert.deepEqual(recordings.map((r) => r.recording).sort(), [...announced.keys()].sort());

    const plaintexts: Buffer[] = [];
    let mediaSeconds = 0;
    for (const r of recordings) {
      const mine = announced.get(r.recording) as Map<number, SealedEventDetail>;
      const count = mine.size;
      assert.equal(r.epoch, 2, 'sealed to the epoch the revocation announced');
      assert.equal(r.segments, count, `${r.recording}: every sealed segment stored, none extra`);
      const status = await s.app.inject({ method: 'GET', url: `/v1/recordings/${r.recording}`, headers: { authorization: `Bearer ${attempt.token}` } });
      assert.deepEqual(status.json().stored, [[0, count - 1]], `${r.recording}: no gap`);
      const finished = [...mine.values()].some((d) => d.last);
      assert.equal(r.complete, finished, `${r.recording}: complete exactly when the recorder closed it`);
      if (finished) assert.equal(r.segmentCount, count);

      const header = await s.app.inject({ method: 'GET', url: `/v1/recordings/${r.recording}/header`, headers: { authorization: `Bearer ${attempt.token}` } });
      const opener = await openRecording(new Uint8Array(header.rawPayload), epoch2.privateKey);
      assert.equal(opener.header.context.track, r.track);
      assert.equal(opener.header.context.attempt, attempt.attempt);
      for (let i = 0; i < count; i++) {
        const stored = await s.app.inject({ method: 'GET', url: `/v1/recordings/${r.recording}/segments/${i}`, headers: { authorization: `Bearer ${attempt.token}` } });
        const opened = await opener.openSegment(i, new Uint8Array(stored.rawPayload));
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
    assert.ok(mediaSeconds >= 28, `at least 30 s of camera recorded (${mediaSeconds} s in 4 s pieces)`);
    const sealingMs = sealed.reduce((n, d) => n + d.sealMs, 0);
    t.diagnostic(`sealed ${sealed.length} segments, ${(plaintexts.reduce((n, p) => n + p.length, 0) / 1e6).toFixed(2)} MB, in ${sealingMs.toFixed(0)} ms of sealing: ${(sealingMs / 10 / mediaSeconds).toFixed(3)} % of the camera's recording time`);

    // Nothing sealed at rest, in the browser or on the server, shows media or any piece of it.
    // Samples from inside each plaintext; runs of padding (a few distinct bytes) could match any file, so only varied ones count.
    const samples = plaintexts
      .flatMap((p) => [0.25, 0.5, 0.75].map((f) => p.subarray(Math.floor(p.length * f), Math.floor(p.length * f) + 32)))
      .filter((x) => x.length === 32 && new Set(x).size >= 16);
    assert.ok(samples.length >= plaintexts.length, `enough plaintext samples (${samples.length})`);
    const idbBlobs = [...vaultDuringOutage.segments, ...vaultDuringOutage.headers].map((b) => Buffer.from(b, 'base64'));
    const stores: [string, Buffer][] = [
      ...idbBlobs.map((b, i): [string, Buffer] => [`IndexedDB record ${i}`, b]),
      ...(await Promise.all((await filesUnder(s.dataDir)).map(async (f): Promise<[string, Buffer]> => [f, await readFile(f)]))),
    ];
    assert.ok(stores.reduce((n, [, b]) => n + b.length, 0) > plaintexts.reduce((n, p) => n + p.length, 0), 'the scan covers at least as many bytes as were recorded');
    for (const [where, bytes] of stores) {
      assert.equal(mediaSignature(bytes), null, `${where} holds media`);
      for (const sample of samples) assert.equal(bytes.indexOf(sample), -1, `${where} holds plaintext`);
    }
    assert.deepEqual(errors, [], 'no console error, blocked request or CSP violation');
  });
});
