/**
 * The real app listening on HTTPS at https://localhost:<a free port>, with that exact origin as its
 * public origin: what a passkey ceremony needs (the relying party id is the host name, the only
 * accepted origin is publicOrigin, and `__Host-` cookies need a secure origin). The certificate is the
 * app's own self-signed localhost one; only a Chromium told to ignore certificate errors accepts it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExamVaultApp, buildApp } from '../../src/server/app.js';
import { loadConfig } from '../../src/server/config.js';
import type { ServerConfig } from '../../src/server/config.types.js';
import { type Services, openServices } from '../../src/server/services.js';
import { ensureLocalCertificate } from '../../src/server/tls/local-certificate.js';
import { tlsOptions } from '../../src/server/tls/tls-options.js';
import { freePort } from '../server/support/server-process.js';
import { type BrowserSlot, browserSlot } from './browser-slot.js';


export interface HttpsApp {
  readonly origin: string;
  readonly dataDir: string;
  readonly config: ServerConfig;
  readonly services: Services;
  readonly app: ExamVaultApp;
  /** Give it the browser the test launches: it is closed before the app (browser-slot.ts). */
  readonly closesFirst: BrowserSlot['take'];
}

/**
 * Starts the app; `routes` may add test-only routes before it listens. Everything is closed and the
 * data directory removed when the test ends, the browser given to `closesFirst` first.
 */
export async function startHttpsApp(t: TestContext, options: { webDir?: string; routes?: (app: ExamVaultApp) => void } = {}): Promise<HttpsApp> {
  const dataDir = await mkdtemp(join(tmpdir(), 'examvault-https-'));
  // One hook, in this order: node:test runs a test's hooks in the order they were added and stops at
  // the first that throws, so a removal added first would race the open services, and its failure
  // would leave them open, and the test's process alive.
  const open: { services?: Services; app?: ExamVaultApp } = {};
  const browser = browserSlot();
  t.after(() =>
    browser.closeThen(async () => {
      await open.app?.close();
      await open.services?.close();
      await rm(dataDir, { recursive: true, force: true });
    }),
  );
  const port = await freePort();
  const origin = `https://localhost:${port}`;
  const config = loadConfig({
    env: { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_LOG_LEVEL: 'silent', EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_PORT: String(port), EXAMVAULT_PUBLIC_ORIGIN: origin },
    cwd: dataDir,
  });
  const services = (open.services = await openServices(config));
  const app = (open.app = buildApp(config, services, { https: tlsOptions(await ensureLocalCertificate(dataDir)), ...(options.webDir ? { webDir: options.webDir } : {}) }));
  options.routes?.(app);
  await app.listen({ host: '127.0.0.1', port });
  return { origin, dataDir, config, services, app, closesFirst: browser.take };
}
