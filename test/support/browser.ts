/**
 * Headless Chromium for tests: serves in-memory files from a tiny HTTP server on 127.0.0.1 (an
 * ephemeral port), opens http://localhost:PORT/ (localhost is a secure context, so crypto.subtle is
 * available) in Debian's Chromium through playwright-core, and returns the page.
 *
 * Only loopback is used: the server listens on 127.0.0.1, Chromium's background networking is off,
 * and every request the page makes to another origin is aborted and reported as an error.
 * Console errors, page errors (uncaught exceptions, unhandled rejections), crashes and blocked
 * requests are written to the test's diagnostics and collected in `errors`.
 *
 * Chromium missing: in CI the test fails, locally it is skipped with the install command
 * (test/support/system-tools.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { browserSlot } from './browser-slot.js';
import { chromiumTool, requireTool } from './system-tools.js';

/** Flags that work on this machine kind (a container, no GPU, small /dev/shm). */
export const chromiumArgs: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-dev-shm-usage',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Chromium's own camera, microphone and screen, with every permission prompt answered yes. */
export const fakeMediaArgs: readonly string[] = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/**
 * For the web apps served by a test server on loopback: `localhost` (a secure context, and the
 * passkeys' relying party) resolves to 127.0.0.1, and media devices are Chromium's fakes.
 */
export const appChromiumArgs: readonly string[] = [...chromiumArgs, '--host-resolver-rules=MAP localhost 127.0.0.1', ...fakeMediaArgs];

export interface StaticFile {
  readonly body: string | Uint8Array;
  /** Content type; by default derived from the path's extension. */
  readonly type?: string;
}

export interface BrowserPageOptions {
  /** Path → content. '/' defaults to an empty HTML page. */
  readonly files?: Readonly<Record<string, string | Uint8Array | StaticFile>>;
  /** Extra Chromium flags (e.g. --use-fake-device-for-media-stream). */
  readonly args?: readonly string[];
}

export interface BrowserPage {
  readonly page: Page;
  readonly browser: Browser;
  /** http://localhost:PORT */
  readonly origin: string;
  /** Console errors, page errors, crashes and blocked requests seen so far. */
  readonly errors: readonly string[];
  /** Closes Chromium and the server; safe to call twice (openBrowserPage registers it with `t.after`). */
  close(): Promise<void>;
}

const types: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  css: 'text/css; charset=utf-8',
  wasm: 'application/wasm',
};

const emptyPage = '<!doctype html><meta charset="utf-8"><title>ExamVault test</title>';

/** Opens a page; returns null when the test was skipped because Chromium is not installed. */
export async function openBrowserPage(t: TestContext, options: BrowserPageOptions = {}): Promise<BrowserPage | null> {
  const executablePath = requireTool(t, chromiumTool);
  if (!executablePath) return null;
  const opened = await startBrowserPage(executablePath, options, (message) => t.diagnostic(message));
  t.after(opened.close);
  return opened;
}

/**
 * Serves the files and opens them in Chromium, outside any test (benchmarks use this directly).
 * `report` receives every console error, page error, crash and blocked request.
 */
export async function startBrowserPage(
  executablePath: string,
  options: BrowserPageOptions,
  report: (message: string) => void,
): Promise<BrowserPage> {
  const files = new Map<string, StaticFile>([['/', { body: emptyPage }]]);
  for (const [path, file] of Object.entries(options.files ?? {})) {
    files.set(path, typeof file === 'string' || file instanceof Uint8Array ? { body: file } : file);
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = files.get(path);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const ext = path === '/' ? 'html' : (path.split('.').pop() ?? '');
    res.writeHead(200, {
      'content-type': file.type ?? types[ext] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;

  const errors: string[] = [];
  const note = (message: string): void => {
    errors.push(message);
    report(message);
  };

  let browser: Browser | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await browser?.close().catch(() => undefined);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, ...(options.args ?? [])] });
    const context = await browser.newContext();
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      note(`[chromium] blocked a request off the test server: ${url}`);
      return route.abort('blockedbyclient');
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') note(`[chromium console.error] ${m.text()}`);
    });
    page.on('pageerror', (e) => note(`[chromium pageerror] ${e.stack ?? e.message}`));
    page.on('crash', () => note('[chromium] the page crashed'));
    await page.goto(`${origin}/`);
    return { page, browser, origin, errors, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * One cleanup for a server and the browser that visits it, closing the browser first (browser-slot.ts).
 * Give the launched browser to the returned function.
 */
export function closeBrowserThenServer(t: { after(fn: () => Promise<void>): void }, server: { close(): PromiseLike<unknown> }): (browser: Browser) => Browser {
  const slot = browserSlot();
  t.after(() => slot.closeThen(() => Promise.resolve(server.close())));
  return slot.take;
}
