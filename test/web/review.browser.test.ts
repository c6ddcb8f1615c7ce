/**
 * The review panel and the case export in real Chromium, against the real app over HTTPS with its
 * SQLite cell: a reviewer's page (test/web/review-harness.ts, standing in for the reviewer app's
 * main.ts) unlocks the member's keys, saves a verdict and notes twice, reloads and sees both versions
 * opened and their signatures checked; meets an admin's version saved meanwhile (409, then saved on
 * top); then exports the attempt as a case bundle, which the real
 * `examvault open` decrypts offline with the reviewer's member key file to the original bytes. A
 * history served without its newest version is refused by what the page remembers.
 * axe-core checks each screen (screenshots under test-results/review/).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { fromBase64Url, openReviewHistory, sealReview, toBase64Url } from '../../src/crypto/index.js';
import type { ReviewListResponse } from '../../src/protocol/review.js';
import { buildApp } from '../../src/server/app.js';
import { pageContentSecurityPolicy } from '../../src/server/pages/pages.routes.js';
import { ensureLocalCertificate } from '../../src/server/tls/local-certificate.js';
import { tlsOptions } from '../../src/server/tls/tls-options.js';
import { bundleForBrowser, repoRoot } from '../browser/bundle.js';
import { assertFailure, assertSuccess, cli } from '../cli/support/run-cli.js';
import { addStaff, approve, cellOf, register, registrationBody, upload } from '../server/custody/support.js';
import { startTestServer } from '../server/support/test-server.js';
import { chromiumArgs, closeBrowserThenServer } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import type { HarnessConfig } from './review-harness.js';
import { axeCheck, shotsDir } from './recorder-support.js';
import { freePort } from '../server/support/server-process.js';

const PASSPHRASE = 'correct horse battery staple';


describe('review notes and case export in a real browser', () => {
  it('saves sealed notes, shows them verified after a reload, and exports a case the CLI opens offline', { timeout: 180_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    const shots = shotsDir('review');
    await mkdir(shots, { recursive: true });
    const work = await mkdtemp(join(tmpdir(), 'examvault-review-'));
    t.after(() => rm(work, { recursive: true, force: true }));

    const port = await freePort();
    const origin = `https://localhost:${port}`;
    const s = await startTestServer(t, { EXAMVAULT_PUBLIC_ORIGIN: origin, EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_PORT: String(port) });
    const inst = await s.institution('eu');
    const admin = await addStaff(s, inst, 'adm-1', 'admin');
    await register(s, admin);
    const rev = await addStaff(s, inst, 'rev-1', 'reviewer');
    // The reviewer's member key file is what its client registered: the signed registration and the passphrase-wrapped keys.
    const keyFile = await registrationBody(rev);
    const registered = await s.app.inject({ method: 'PUT', url: '/v1/custody/me/keys', headers: rev.send, payload: keyFile });
    assert.equal(registered.statusCode, 200, registered.body);
    assert.equal((await approve(s, admin, rev, 1, inst.keys)).statusCode, 201);
    const recorded = await upload(s, inst, 'rec-cam');
    const attempt = recorded.sealer.header.context.attempt;

    const harness = await bundleForBrowser(join(repoRoot, 'test/web/review-harness.ts'), { name: 'harness.js' });
    const app = buildApp(s.config, s.services, { https: tlsOptions(await ensureLocalCertificate(s.dataDir)) });
    app.get('/', async (_request, reply) => reply
      .header('content-security-policy', pageContentSecurityPolicy)
      .type('text/html; charset=utf-8')
      .send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Review an attempt – ExamVault</title>'
        + '<link rel="stylesheet" href="/base.css"><script type="module" src="/harness.js"></script></head><body><main id="main"><h1>Review an attempt</h1></main>'
        + '<footer class="app"><p id="live" class="status-bar"></p></footer></body></html>'));
    app.get('/harness.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(harness.code));
    // The apps' own style sheet, as the reviewer page loads it (sizes of targets, focus rings, contrast).
    const css = await readFile(join(repoRoot, 'src/web/shared/base.css'), 'utf8');
    app.get('/base.css', async (_request, reply) => reply.type('text/css; charset=utf-8').send(css));
    app.get('/harness.js.map', async (_request, reply) => reply.type('application/json').send(harness.map));
    const closing = closeBrowserThenServer(t, app);
    await app.listen({ host: '127.0.0.1', port });

    const browser = closing(await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, '--ignore-certificate-errors'] }));
    const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true });
    await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin ? route.continue() : route.abort('blockedbyclient')));
    const [cookieName, token] = (rev.get.cookie as string).split('=') as [string, string];
    await context.addCookies([{ name: cookieName, value: token, url: origin, secure: true, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(e.stack ?? e.message));
    const config: HarnessConfig = {
      csrfToken: rev.send['x-ev-csrf'] as string, passphrase: PASSPHRASE, institution: inst.id, attempt, member: rev.id,
      authors: { [admin.id]: toBase64Url(admin.keys.signingPublicKey) },
    };
    const open = async () => {
      await page.goto(`${origin}/`);
      await page.waitForFunction(() => 'startHarness' in globalThis);
      await page.evaluate((c) => (globalThis as unknown as { startHarness(c: unknown): Promise<void> }).startHarness(c), config);
    };
    const live = page.locator('#live');

    await open();
    await page.getByText('Nothing saved yet for this attempt.').waitFor();
    assert.ok(await page.getByRole('radio', { name: 'Undecided' }).isChecked());
    await axeCheck(page, shots, 'review-empty');

    const first = 'Looked at a second screen at 14:02.\nAsked the invigilator: it was off.';
    await page.getByRole('radio', { name: 'Concern', exact: true }).check();
    await page.getByRole('textbox', { name: 'Notes' }).fill(first);
    await page.getByRole('button', { name: 'Save verdict and notes' }).click();
    await live.getByText('Saved as version 1.').waitFor();
    const second = 'A phone lit up on the desk at 31:40 — «Ü» 🙂';
    await page.getByRole('radio', { name: 'Violation', exact: true }).check();
    await page.getByRole('textbox', { name: 'Notes' }).fill(second);
    await page.getByRole('button', { name: 'Save verdict and notes' }).click();
    await live.getByText('Saved as version 2.').waitFor();

    // The server holds two sealed records, neither readable without the epoch key.
    const cell = cellOf(s);
    const rows = await cell.db.selectFrom('review_records').selectAll().orderBy('revision').execute();
    assert.deepEqual(rows.map((r) => [Number(r.revision), r.author_id, Number(r.epoch)]), [[1, 'rev-1', 1], [2, 'rev-1', 1]]);
    const storedText = rows.map((r) => Buffer.from(fromBase64Url(r.record) as Uint8Array).toString('latin1')).join('');
    assert.ok(!storedText.includes('second screen') && !storedText.includes('phone') && !storedText.includes('violation'));
    const served = await s.app.inject({ method: 'GET', url: `/v1/custody/attempts/${attempt}/review`, headers: admin.get });
    const history = await openReviewHistory(served.json<ReviewListResponse>().records.map((r) => fromBase64Url(r.record) as Uint8Array), {
      institution: inst.id, attempt, authorKey: (a) => (a === rev.id ? rev.keys.signingPublicKey : null), epochKey: () => inst.keys.privateKey,
    });
    assert.deepEqual(history.map((h) => [h.content.verdict, h.content.notes]), [['concern', first], ['violation', second]]);

    // A reload: the page fetches both versions again, opens them and checks their signatures.
    await open();
    await page.getByText('2 versions, newest first.').waitFor();
    const items = page.locator('.review-history li');
    assert.equal(await items.count(), 2);
    assert.match(await items.nth(0).innerText(), /Version 2: Violation · by rev-1 · .* · signature checked/);
    assert.equal(await items.nth(0).locator('.review-notes').innerText(), second);
    assert.equal(await items.nth(1).locator('.review-notes').innerText(), first);
    assert.ok(await page.getByRole('radio', { name: 'Violation', exact: true }).isChecked());
    assert.equal(await page.getByRole('textbox', { name: 'Notes' }).inputValue(), second);
    await axeCheck(page, shots, 'review-saved');

    // Meanwhile the admin saves a version 3 from another page: this page's save is refused (409), the
    // history shows the admin's version, the typed text stays, and a second save goes on top of it.
    const third = await sealReview({
      institution: inst.id, attempt, author: admin.id, after: history[1] ?? null, epoch: 1, epochPublicKey: inst.keys.publicKey,
      signingKey: admin.keys.signing.privateKey, content: { verdict: 'concern', notes: 'Second opinion: a concern, not a violation.', time: Date.now() },
    });
    assert.equal((await s.app.inject({ method: 'PUT', url: `/v1/custody/attempts/${attempt}/review`, headers: admin.send, payload: { record: toBase64Url(third) } })).statusCode, 201);
    const fourth = 'Agreed after a call with adm-1.';
    await page.getByRole('radio', { name: 'Concern', exact: true }).check();
    await page.getByRole('textbox', { name: 'Notes' }).fill(fourth);
    await page.getByRole('button', { name: 'Save verdict and notes' }).click();
    await live.getByText(/^Not saved: someone saved a newer version meanwhile/).waitFor();
    await page.getByText('3 versions, newest first.').waitFor();
    assert.match(await items.nth(0).innerText(), /Version 3: Concern · by adm-1 · .* · signature checked/);
    assert.equal(await page.getByRole('textbox', { name: 'Notes' }).inputValue(), fourth);
    await page.getByRole('button', { name: 'Save verdict and notes' }).click();
    await live.getByText('Saved as version 4.').waitFor();
    assert.equal(await items.nth(0).locator('.review-notes').innerText(), fourth);

    // The case export: built in the page, saved through a Blob link, opened by the CLI with the member key file.
    await page.getByRole('button', { name: 'Export case' }).click();
    const link = page.getByRole('link', { name: new RegExp(`^Save ${attempt}\\.evcase`) });
    await link.waitFor({ timeout: 60_000 });
    assert.equal(await link.evaluate((a) => (a as HTMLAnchorElement).protocol), 'blob:');
    await axeCheck(page, shots, 'case-ready');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), `${attempt}.evcase`);
    const bundle = await readFile(await download.path());
    // Chromium reports every answer ≥ 400 on the console: the one 409 is the refused save above.
    assert.deepEqual(errors, ['Failed to load resource: the server responded with a status of 409 (Conflict)'], 'no other console or page error');

    const bundleFile = join(work, `${attempt}.evcase`);
    const memberKeyFile = join(work, 'rev-1.keys.json');
    const passphraseFile = join(work, 'passphrase');
    await writeFile(bundleFile, bundle);
    await writeFile(memberKeyFile, JSON.stringify(keyFile));
    await writeFile(passphraseFile, PASSPHRASE);
    const out = join(work, 'case');
    const opened = await cli(['open', '--key', memberKeyFile, '--passphrase-file', passphraseFile, '-o', out, bundleFile]);
    assertSuccess(opened);
    const listing = JSON.parse(opened.stdout.toString('utf8')) as { attempt: string; exportedBy: string; files: { file: string; recording: string }[] };
    assert.equal(listing.attempt, attempt);
    assert.equal(listing.exportedBy, 'rev-1');
    assert.deepEqual(listing.files.map((f) => f.recording), ['rec-cam']);
    assert.deepEqual(await readFile(join(out, listing.files[0]?.file as string)), Buffer.concat(recorded.chunks));

    // A server that later serves the history without its newest version is caught by what the page remembers.
    await page.route(`**/v1/custody/attempts/${attempt}/review`, async (route) => {
      const real = await route.fetch();
      const body = await real.json() as ReviewListResponse;
      await route.fulfill({ response: real, json: { ...body, records: body.records.slice(0, 3) } });
    });
    await open();
    await live.getByText(/The saved versions could not be verified, so none is shown and saving is off: .*EV_ERR_REVIEW_OUT_OF_ORDER/).waitFor();
    assert.ok(await page.getByRole('button', { name: 'Save verdict and notes' }).isDisabled());
    assert.equal(await items.count(), 0);
    assert.equal(errors.length, 1, errors.join('\n'));

    // The export unlocked the recording through the audited route, and a changed bundle does not open.
    const unlocks = await cell.db.selectFrom('audit_log').select('payload').where('type', '=', 'recording.unlocked').execute();
    assert.ok(unlocks.some((u) => Buffer.from(u.payload).toString('utf8').includes('"member":"rev-1"')));
    const changed = Buffer.from(bundle);
    changed[changed.length - 10] = (changed[changed.length - 10] as number) ^ 1;
    await writeFile(bundleFile, changed);
    assertFailure(await cli(['open', '--key', memberKeyFile, '--passphrase-file', passphraseFile, '-o', join(work, 'changed'), bundleFile]), 'EV_ERR_CRYPTO_DECRYPTION_FAILED');
  });
});
