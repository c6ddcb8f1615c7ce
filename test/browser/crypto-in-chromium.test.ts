/**
 * The crypto suite (test/crypto/*.test.ts), unchanged, in headless Chromium: the crypto core is
 * isomorphic, and this is where that claim is checked. The files are bundled with esbuild
 * (test/browser/bundle.ts: `node:test` → a small browser shim, `node:assert/strict` → the npm `assert`
 * package, any other Node built-in fails the bundle), served from 127.0.0.1 and run in one page; each
 * browser test is reported here as its own subtest, grouped by file.
 *
 * Only loopback is contacted. To prove it, run the test in a network namespace that has nothing but lo:
 *   unshare --net sh -c 'ip link set lo up && node scripts/run-tests.mjs test/browser/crypto-in-chromium.test.ts'
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openBrowserPage } from '../support/browser.js';
import { bundleTestSuite, findTestFiles, sourceMapper } from './bundle.js';
import type { BrowserTestResult } from './node-test-shim.js';

/** A browser test that takes longer than this fails (it would otherwise hang the whole run). */
const PER_TEST_TIMEOUT_MS = 120_000;

interface PageReport {
  registered: Record<string, number>;
  results: BrowserTestResult[];
  /** typeof globalThis.process / Buffer before the bundle loads, after it loads, after the run. */
  globals: string[];
}

test('the crypto suite passes in headless Chromium', { timeout: 5 * 60_000 }, async (t) => {
  const files = findTestFiles();
  assert.ok(files.length > 0, 'no test/crypto/**/*.test.ts found');
  const started = performance.now();
  const bundle = await bundleTestSuite(files, { name: 'suite.js' });
  for (const w of bundle.warnings) t.diagnostic(`esbuild: ${w}`);
  const bundled = performance.now();

  const browser = await openBrowserPage(t, { files: { '/suite.js': bundle.code, '/suite.js.map': bundle.map } });
  if (!browser) return;
  const mapStack = sourceMapper(bundle, `${browser.origin}/suite.js`);
  // Stacks from the page, in original sources, without the shim's and Playwright's frames.
  const clean = (text: string): string =>
    mapStack(text)
      .split('\n')
      .filter((line) => !/node-test-shim\.ts|eval at evaluate|^\s+at (async )?<anonymous>/.test(line))
      .join('\n');
  // An error that prints as the browser's message and stack, not this file's.
  const failure = (text: string): Error => {
    const error = new Error(text.split('\n')[0]);
    error.stack = `[in Chromium] ${text}`;
    return error;
  };

  // A string, not a function: tsx may add helpers (__name) to functions that do not exist in the page.
  const script = `(async () => {
    const globals = () => \`process: \${typeof globalThis.process}, Buffer: \${typeof globalThis.Buffer}\`;
    const seen = [globals()];
    const suite = await import('/suite.js');
    seen.push(globals());
    const registered = suite.registered();
    const results = await suite.run({ timeout: ${PER_TEST_TIMEOUT_MS} });
    seen.push(globals());
    return { registered, results, globals: seen };
  })()`;
  let report: PageReport;
  try {
    report = await browser.page.evaluate<PageReport>(script);
  } catch (e) {
    throw new Error(`the suite did not load or run in Chromium: ${clean(e instanceof Error ? e.message : String(e))}`, { cause: e });
  }
  const ran = performance.now();

  const testResults = report.results.filter((r) => r.kind === 'test');
  const groups = [...bundle.files, ''];
  for (const file of groups) {
    const results = report.results.filter((r) => r.file === file);
    if (file === '' && results.length === 0) continue;
    const ms = results.reduce((sum, r) => sum + r.ms, 0);
    await t.test(file || 'page-level errors', async (ft) => {
      if (file) ft.diagnostic(`${results.length} results, ${(ms / 1000).toFixed(2)} s in Chromium`);
      for (const r of results) {
        const skip = r.skip === undefined ? false : r.skip || true;
        const todo = r.todo === undefined ? false : r.todo || true;
        const label = r.kind === 'test' ? r.name : `[${r.kind}] ${r.name}`;
        await ft.test(label, { skip, todo }, (st) => {
          for (const d of r.diagnostics ?? []) st.diagnostic(d);
          if (!r.ok) throw failure(clean(r.error ?? 'failed'));
        });
      }
    });
  }

  t.diagnostic(
    `${testResults.length} browser tests; bundle ${((bundled - started) / 1000).toFixed(2)} s, ` +
      `Chromium launch and run ${((ran - bundled) / 1000).toFixed(2)} s`,
  );

  // Nothing lost: every registered it()/test() produced exactly one result, every file registered some.
  const registeredTotal = Object.values(report.registered).reduce((a, b) => a + b, 0);
  assert.ok(registeredTotal > 0, 'no tests were registered in the browser');
  assert.equal(testResults.length, registeredTotal, 'browser results do not match the tests registered');
  for (const file of bundle.files) {
    assert.ok((report.registered[file] ?? 0) > 0, `${file} registered no tests in the browser`);
    assert.equal(
      testResults.filter((r) => r.file === file).length,
      report.registered[file],
      `${file}: results do not match the tests registered`,
    );
  }
  // Nothing makes Node's globals appear: the `assert` package gets only a module-local `process`.
  assert.deepEqual(report.globals, Array(3).fill('process: undefined, Buffer: undefined'));
  assert.deepEqual(browser.errors, [], 'Chromium reported errors (see diagnostics)');
});
