/**
 * The browser apps as the server serves them (src/server/pages): from a real build (made by the
 * test), each page with its own CSP (`script-src 'self'`, nothing inline), every script and style
 * sheet carrying an integrity attribute that matches the bytes the server sends, hashed assets cached
 * for a year, pages never. A build whose pages and assets disagree is refused at start.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { webPages } from '../../../scripts/build-web.mjs';
import { buildApp } from '../../../src/server/app.js';
import { integrityReferences } from '../../../src/server/pages/page-assets.js';
import { pageContentSecurityPolicy } from '../../../src/server/pages/pages.routes.js';
import { startTestServer } from '../support/test-server.js';
import { builtWebApps } from '../../support/web-build.js';

describe('the browser apps, served', () => {
  it('serves every page with its CSP and every asset with matching integrity', async (t) => {
    const s = await startTestServer(t);
    const app = buildApp(s.config, s.services, { webDir: await builtWebApps() });
    t.after(() => app.close());

    assert.match(pageContentSecurityPolicy, /(^|; )script-src 'self'(;|$)/);
    assert.doesNotMatch(pageContentSecurityPolicy, /unsafe-inline|unsafe-eval|https?:|\*/);
    assert.equal(webPages.length, 3);
    let checkedAssets = 0;
    for (const page of webPages) {
      const res = await app.inject({ method: 'GET', url: `/app/${page}/` });
      assert.equal(res.statusCode, 200, page);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(res.headers['content-security-policy'], pageContentSecurityPolicy);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
      const html = res.body;
      // Nothing inline: no script without src, no style element or attribute, no event handler.
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
      assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i);
      const tags = [...html.matchAll(/<(?:script|link)\b[^>]*>/g)].map((m) => m[0]);
      const loading = tags.filter((tag) => /<script/.test(tag) || /rel="(stylesheet|modulepreload)"/.test(tag));
      assert.ok(loading.some((tag) => tag.startsWith('<script')), `${page} loads a script`);
      assert.ok(loading.every((tag) => /\sintegrity="sha384-[A-Za-z0-9+/]+={0,2}"/.test(tag) && /crossorigin="anonymous"/.test(tag)), `${page}: ${loading.join(' ')}`);
      const refs = integrityReferences(html);
      assert.equal(refs.length, loading.length);
      for (const [url, integrity] of refs) {
        assert.match(url, /^\/app\/assets\/[a-z]+-[A-Za-z0-9_-]{8}\.(js|css)$/, 'hashed file names');
        const asset = await app.inject({ method: 'GET', url });
        assert.equal(asset.statusCode, 200, url);
        assert.equal(integrity, `sha384-${createHash('sha384').update(asset.rawPayload).digest('base64')}`, `${url}: integrity matches the served bytes`);
        assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
        assert.equal(asset.headers['x-content-type-options'], 'nosniff');
        assert.match(String(asset.headers['content-type']), url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
        checkedAssets++;
      }
    }
    assert.ok(checkedAssets >= 6, 'a script and a style sheet per page');

    const redirect = await app.inject({ method: 'GET', url: '/app/recorder' });
    assert.equal(redirect.statusCode, 302);
    assert.equal(redirect.headers.location, '/app/recorder/');
    const missing = await app.inject({ method: 'GET', url: '/app/assets/nothing-12345678.js' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'EV_ERR_API_NOT_FOUND');
    assert.equal(missing.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  });

  it('answers 404 with a hint when the apps are not built, and refuses a build whose assets were changed', async (t) => {
    const s = await startTestServer(t);
    const absent = buildApp(s.config, s.services, { webDir: join(s.dataDir, 'no-such-dir') });
    t.after(() => absent.close());
    const res = await absent.inject({ method: 'GET', url: '/app/recorder/' });
    assert.equal(res.statusCode, 404);
    assert.match(res.json().error.message, /npm run build/);

    const copy = await mkdtemp(join(tmpdir(), 'examvault-web-tampered-'));
    t.after(() => rm(copy, { recursive: true, force: true }));
    await cp(await builtWebApps(), copy, { recursive: true });
    const script = (await readdir(join(copy, 'assets'))).find((f) => f.startsWith('recorder-') && f.endsWith('.js')) as string;
    await writeFile(join(copy, 'assets', script), 'alert(1)');
    const tampered = buildApp(s.config, s.services, { webDir: copy });
    await assert.rejects(async () => { await tampered.ready(); }, /does not match its integrity attribute/);
    await tampered.close().catch(() => undefined);
  });
});
