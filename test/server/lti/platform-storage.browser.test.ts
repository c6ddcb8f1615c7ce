/**
 * The launch in real Chromium, framed by the emulator's course page as an LMS frames a tool: with
 * the state cookie, and with the tool's cookies dropped (as a browser blocking third-party cookies
 * does), where login.js and launch.js carry the binding through the platform's storage
 * (lti.put_data / lti.get_data). Both end on the recorder page with its hand-off code, and the pages'
 * strict CSP lets them run (no violation reported).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { chromiumArgs } from '../../support/browser.js';
import { chromiumTool, requireTool } from '../../support/system-tools.js';
import { learnerLaunch, ltiScenario } from './support.js';

describe('LTI launch in Chromium, framed by the LMS', () => {
  for (const cookies of ['kept', 'dropped'] as const) {
    it(`reaches the recorder page with the tool's cookies ${cookies}`, async (t) => {
      const executablePath = requireTool(t, chromiumTool);
      if (!executablePath) return;
      const s = await ltiScenario(t);
      // Both "sites" are on loopback here; Chromium's local-network-access checks would stop a frame
      // of one navigating to the other, which between a real LMS and ExamVault (public hosts) never applies.
      const args = [...chromiumArgs, '--host-resolver-rules=MAP localhost 127.0.0.1', '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests'];
      const browser = s.closesFirst(await chromium.launch({ executablePath, headless: true, args }));
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const problems: string[] = [];
      const posts: string[] = [];
      await context.route('**/*', async (route) => {
        const url = new URL(route.request().url());
        if (url.origin !== s.origin && url.origin !== s.lms.origin) return route.abort('blockedbyclient');
        if (url.origin !== s.origin) return route.continue();
        if (route.request().method() === 'POST') posts.push(url.pathname);
        // Fetched from Node, where localhost may resolve to ::1 first: the server listens on 127.0.0.1.
        try {
          const response = await route.fetch({ url: url.toString().replace('//localhost:', '//127.0.0.1:'), maxRedirects: 0 });
          const headers = { ...response.headers() };
          if (cookies === 'dropped') {
            // route.fetch keeps cookies in the context's jar too: empty it, so no cookie is ever sent back.
            delete headers['set-cookie'];
            await context.clearCookies();
          }
          return await route.fulfill({ response, headers });
        } catch (e) {
          problems.push(`route: ${String(e)}`);
          return route.abort('failed');
        }
      });
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      const launch = s.lms.loginUrl(learnerLaunch(`opaque-chromium-${cookies}`), { lti_storage_target: '_parent' });
      await page.goto(`${s.lms.origin}/course?launch=${encodeURIComponent(launch)}`);
      const frame = page.frameLocator('iframe[name="tool"]');
      const handoff = frame.locator('meta[name="ev-handoff"]');
      try {
        await handoff.waitFor({ state: 'attached', timeout: 20_000 });
      } catch (e) {
        const inner = page.frames().find((f) => f.name() === 'tool');
        t.diagnostic(`posts ${posts.join(' ')}; problems ${problems.join(' | ')}; frame ${inner?.url()}: ${(await inner?.content())?.slice(0, 600)}`);
        throw e;
      }
      assert.match((await handoff.getAttribute('content')) ?? '', /^evk1\.eu\./);
      assert.deepEqual(posts, cookies === 'kept' ? ['/v1/lti/launch'] : ['/v1/lti/launch', '/v1/lti/launch/confirm']);
      assert.deepEqual(problems.filter((p) => /Content Security Policy|Refused/i.test(p)), []);
    });
  }
});
