/**
 * An LTI scenario over real HTTPS on loopback: the real app listening with its local certificate, an
 * institution with an exam and an admin, the LMS emulator (test/support/lms) registered through the
 * admin API, and a cookie-keeping browser. Log lines are captured for the personal-data test.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EpochKeyPair, exportPublicKey, generateEpochKeyPair, toBase64Url } from '../../../src/crypto/index.js';
import { type ExamVaultApp, buildApp } from '../../../src/server/app.js';
import { loadConfig } from '../../../src/server/config.js';
import { createExam } from '../../../src/server/exams/exam.service.js';
import { createInstitution } from '../../../src/server/institutions/institution.service.js';
import type { Cell } from '../../../src/server/regions/cell.types.js';
import { type Services, openServices } from '../../../src/server/services.js';
import { createStaffSession } from '../../../src/server/staff/staff-auth.js';
import { insertStaff } from '../../../src/server/staff/staff.repository.js';
import { ensureLocalCertificate } from '../../../src/server/tls/local-certificate.js';
import { tlsOptions } from '../../../src/server/tls/tls-options.js';
import { type BrowserSlot, browserSlot } from '../../support/browser-slot.js';
import { Browser } from '../../support/lms/browser.js';
import { type LaunchSpec, LmsEmulator, roles } from '../../support/lms/emulator.js';
import { freePort } from '../support/server-process.js';

export const EXAM = 'chem-midterm';

export interface LtiScenario {
  readonly origin: string;
  readonly dataDir: string;
  readonly services: Services;
  readonly app: ExamVaultApp;
  readonly cell: Cell;
  readonly institution: string;
  readonly lms: LmsEmulator;
  readonly agent: Agent;
  readonly admin: Browser;
  readonly logs: string[];
  /** The institution's epoch-1 key pair (its public key was given at creation). */
  readonly epochKeys: EpochKeyPair;
  /** Milliseconds added to the server's clock. */
  skew: number;
  browser(): Browser;
  /** Give it a Chromium the test launches: it is closed before the LMS and the app (test/support/browser-slot.ts). */
  closesFirst: BrowserSlot['take'];
  /** An admin API call (session cookie, CSRF token, Origin). */
  api(method: string, path: string, json?: unknown): ReturnType<Browser['fetch']>;
}

export async function ltiScenario(t: { after(fn: () => Promise<void>): void }, options: { registration?: Record<string, unknown>; webDir?: string; snapshotIntervalSeconds?: number } = {}): Promise<LtiScenario> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'examvault-lti-'));
  const origin = `https://localhost:${port}`;
  const logs: string[] = [];
  const config = loadConfig({
    env: { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_PORT: String(port), EXAMVAULT_PUBLIC_ORIGIN: origin, EXAMVAULT_LOG_LEVEL: 'debug' },
    cwd: dataDir,
  });
  const cert = await ensureLocalCertificate(dataDir);
  const scenario = { skew: 0 } as { skew: number };
  const services = await openServices(config, { clock: () => Date.now() + scenario.skew });
  const app = buildApp(config, services, { https: tlsOptions(cert), ...(options.webDir ? { webDir: options.webDir } : {}), logStream: { write: (line: string) => void logs.push(line) } });
  await app.listen({ host: '127.0.0.1', port });
  const agent = new Agent({ ca: cert.certPem });
  const lms = await LmsEmulator.start({ clientId: 'examvault-client-1', deploymentId: 'deployment-1', toolOrigin: origin, toolAgent: agent });
  const browsers = browserSlot();
  t.after(() =>
    browsers.closeThen(async () => {
      await lms.close();
      await app.close();
      await services.close();
      agent.destroy();
      await rm(dataDir, { recursive: true, force: true });
    }),
  );

  const keys = await generateEpochKeyPair();
  const inst = await createInstitution(services.cells, services.directory, { name: 'LTI University', region: 'eu', epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)) }, Date.now());
  const cell = services.cells.get('eu') as Cell;
  await createExam(cell, inst.id, { title: 'Chemistry midterm', exam: EXAM, ...(options.snapshotIntervalSeconds === undefined ? {} : { snapshotIntervalSeconds: options.snapshotIntervalSeconds }) }, Date.now());
  await insertStaff(cell.db, { id: 'stf-lti-admin', institution_id: inst.id, role: 'admin', label: null, created_at: Date.now(), disabled_at: null });
  const session = await createStaffSession(cell, 'stf-lti-admin', Date.now());
  const admin = new Browser(origin, agent);
  admin.cookies.set(origin, new Map([['__Host-ev_session', session.token]]));
  const api = (method: string, path: string, json?: unknown) =>
    admin.fetch(method, `${origin}${path}`, json === undefined ? undefined : { json }, method === 'GET' ? {} : { origin, 'x-ev-csrf': session.csrfToken });
  const registered = await api('POST', '/v1/lti/platforms', lms.registration(options.registration));
  assert.equal(registered.status, 201, registered.body);

  return Object.assign(scenario, {
    origin, dataDir, services, app, cell, institution: inst.id, lms, agent, admin, logs, api, epochKeys: keys,
    browser: () => new Browser(origin, agent),
    closesFirst: browsers.take,
  });
}

export const learnerLaunch = (sub: string, extra: Partial<LaunchSpec> = {}): LaunchSpec => ({
  messageType: 'LtiResourceLinkRequest',
  sub,
  roles: [roles.learner],
  resourceLinkId: 'link-1',
  custom: { examvault_exam: EXAM },
  ...extra,
});

export interface AuditRow {
  readonly type: string;
  readonly institution: string | null;
  readonly payload: Record<string, unknown>;
}

export async function auditEvents(cell: Cell): Promise<AuditRow[]> {
  await cell.audit.idle();
  const rows = await cell.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  return rows.map((r) => ({ type: r.type, institution: r.institution_id, payload: JSON.parse(Buffer.from(r.payload).toString('utf8')) as Record<string, unknown> }));
}
