/**
 * From an LTI launch into the recorder, in real Chromium over real HTTPS: the LMS emulator
 * (test/support/lms) signs a learner's launch, the launch page (top-level, as an LMS opens a tool in a
 * new window) hands its one-time code to the recorder through sessionStorage, the recorder exchanges
 * it at POST /v1/attempts/handoff, checks the institution's epoch key along the chain from its
 * recovery key (pinned on first use) and shows the consent screen; it then records for a few seconds
 * and sends everything. Neither the code nor the credential ever appears in a URL.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { deriveRecoveryKeys, generateMemberKeys, generateRecoverySecret } from '../../src/crypto/index.js';
import { type Staff, registrationBody, setUpBody } from '../server/custody/support.js';
import { learnerLaunch, ltiScenario } from '../server/lti/support.js';
import type { TestInstitution } from '../server/support/test-server.js';
import { chromiumArgs } from '../support/browser.js';
import { chromiumTool, requireTool } from '../support/system-tools.js';
import { builtWebApps } from '../support/web-build.js';

describe('the recorder from an LTI launch', () => {
  it('launch → hand-off exchanged → epoch key checked → consent → record → all sent', { timeout: 180_000 }, async (t) => {
    const executablePath = requireTool(t, chromiumTool);
    if (!executablePath) return;
    const s = await ltiScenario(t, { webDir: await builtWebApps() });
    // The institution's set-up by its admin's client: recovery key → admin enrolment → epoch 1.
    const admin = { id: 'stf-lti-admin', role: 'admin', institution: { id: s.institution, region: 'eu', keys: s.epochKeys } as unknown as TestInstitution, keys: await generateMemberKeys(), get: {}, send: {} } as Staff;
    const registered = await s.api('PUT', '/v1/custody/me/keys', await registrationBody(admin));
    assert.equal(registered.status, 200, registered.body);
    const setUp = await s.api('PUT', '/v1/custody/recovery', await setUpBody(admin, await deriveRecoveryKeys(generateRecoverySecret())));
    assert.equal(setUp.status, 201, setUp.body);

    const args = [...chromiumArgs, '--host-resolver-rules=MAP localhost 127.0.0.1', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];
    const browser = await chromium.launch({ executablePath, headless: true, args });
    t.after(() => browser.close());
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const problems: string[] = [];
    const urls: string[] = [];
    const posts: string[] = [];
    await context.route('**/*', async (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== s.origin && url.origin !== s.lms.origin) return route.abort('blockedbyclient');
      if (url.origin === s.origin) urls.push(url.toString());
      if (url.origin === s.origin && route.request().method() === 'POST') posts.push(url.pathname);
      return route.continue();
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(s.lms.loginUrl(learnerLaunch('opaque-recorder-1')));
    try {
      await page.getByRole('heading', { level: 1, name: 'Before you start: what is recorded' }).waitFor({ timeout: 30_000 });
    } catch (e) {
      throw new Error(`the page shows ${page.url()}:\n${await page.locator('body').innerText().catch(() => '')}\nposts ${posts.join(' ')}; problems ${problems.join(' | ')}`, { cause: e });
    }
    assert.equal(new URL(page.url()).pathname, '/app/recorder/');
    assert.deepEqual(posts, ['/v1/lti/launch', '/v1/attempts/handoff']);
    for (const u of urls) assert.doesNotMatch(u, /evk1\.|ev1\./, 'no code or credential in a URL');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the hand-off is read once and removed');

    await page.getByRole('button', { name: 'I agree, continue' }).click();
    await page.getByRole('heading', { level: 1, name: 'Check your camera, microphone and screen' }).waitFor();
    await page.getByRole('button', { name: 'Check camera and microphone' }).click();
    await page.locator('#camera-result.ok').waitFor();
    await page.getByRole('button', { name: 'Share your screen' }).click();
    await page.locator('#screen-result.ok').waitFor();
    await page.getByRole('button', { name: 'Start recording' }).click();
    await page.getByRole('heading', { level: 1, name: 'Recording' }).waitFor();
    await new Promise((r) => setTimeout(r, 5_000));
    await page.getByRole('button', { name: 'Finish recording' }).click();
    await page.locator('#all-sent').waitFor({ timeout: 60_000 });

    // What the launch made: the attempt's recordings are stored, sealed to epoch 1.
    const rows = await s.cell.db.selectFrom('recordings').select(['track', 'epoch', 'segment_count']).execute();
    assert.deepEqual(rows.map((r) => r.track).sort(), ['camera', 'microphone', 'screen', 'snapshot']);
    assert.ok(rows.every((r) => Number(r.epoch) === 1 && r.segment_count !== null), JSON.stringify(rows));
    assert.deepEqual(problems.filter((p) => !/favicon/.test(p)), []);
  });
});
