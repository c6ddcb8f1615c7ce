/** Platforms, passcodes and a webhook receiver for the platform tests, on the test server. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPublicKey, generateEpochKeyPair, toBase64Url } from '../../../src/crypto/index.js';
import type { IssuedPasscode, RedeemedPasscode, RegisteredPlatform } from '../../../src/protocol/passcodes.js';
import { loadConfig } from '../../../src/server/config.js';
import type { ServerConfig } from '../../../src/server/config.types.js';
import { createInstitution } from '../../../src/server/institutions/institution.service.js';
import { openServices } from '../../../src/server/services.js';
import { type Staff, addStaff } from '../custody/support.js';
import type { CleanupScope, TestInstitution, TestServer } from '../support/test-server.js';

export interface TestPlatform extends RegisteredPlatform {
  readonly admin: Staff;
  readonly key: Record<string, string>;
}

let adminCounter = 0;

/** An admin of `institution` registers a platform through the staff API. */
export async function registerTestPlatform(s: TestServer, institution: TestInstitution, webhookUrl = 'https://assess.example.org/examvault/webhooks'): Promise<TestPlatform> {
  const admin = await addStaff(s, institution, `adm-platforms-${++adminCounter}`, 'admin');
  const res = await s.app.inject({ method: 'POST', url: '/v1/platforms', headers: admin.send, payload: { name: 'Example Assessments', webhookUrl } });
  assert.equal(res.statusCode, 201, res.body);
  const registered = res.json<RegisteredPlatform>();
  return { ...registered, admin, key: { authorization: `Bearer ${registered.apiKey}` } };
}

export async function createPlatformExam(s: TestServer, platform: TestPlatform, exam: string): Promise<void> {
  const res = await s.app.inject({ method: 'POST', url: '/v1/platform/exams', headers: platform.key, payload: { exam, title: `Exam ${exam}` } });
  assert.equal(res.statusCode, 201, res.body);
}

export async function issuePasscode(s: TestServer, platform: TestPlatform, exam: string, body: object = {}): Promise<IssuedPasscode> {
  const res = await s.app.inject({ method: 'POST', url: `/v1/platform/exams/${exam}/passcodes`, headers: platform.key, payload: body });
  assert.equal(res.statusCode, 201, res.body);
  return res.json<IssuedPasscode>();
}

export interface Redemption {
  readonly statusCode: number;
  readonly code: string | undefined;
  readonly retryAfter: string | undefined;
  readonly body: RedeemedPasscode;
}

export async function redeem(s: TestServer, passcode: string, remoteAddress = '203.0.113.7'): Promise<Redemption> {
  const res = await s.app.inject({ method: 'POST', url: '/v1/passcodes/redeem', payload: { passcode }, remoteAddress });
  const body = res.json<RedeemedPasscode & { error?: { code: string } }>();
  return { statusCode: res.statusCode, code: body.error?.code, retryAfter: res.headers['retry-after'] as string | undefined, body };
}

export interface Delivery {
  readonly headers: IncomingHttpHeaders;
  /** The raw body, as received. */
  readonly body: string;
}

export interface Receiver {
  readonly url: string;
  readonly deliveries: Delivery[];
  /** The status the next deliveries get (default 204). */
  status: number;
  close(): Promise<void>;
}

/** A platform's webhook endpoint on loopback, recording what it receives. */
export async function webhookReceiver(t: CleanupScope): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  const state = { status: 204 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = state.status;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/examvault/webhooks`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  t.after(close);
  return Object.assign(state, { url, deliveries, close });
}

/**
 * A data directory (removed after the test) holding one institution in `eu`, with nothing open: for
 * tests that run the CLI or the server process on it.
 */
export async function dataDirWithInstitution(): Promise<{ dataDir: string; config: ServerConfig; institution: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'examvault-platforms-'));
  // Removed when the test process exits, after every test's own after hooks have closed what writes into it.
  process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ env: { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_LOG_LEVEL: 'silent' }, cwd: dataDir });
  const services = await openServices(config);
  const keys = await generateEpochKeyPair();
  const created = await createInstitution(services.cells, services.directory, { name: 'Example University', region: 'eu', epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)) }, Date.now());
  await services.close();
  return { dataDir, config, institution: created.id };
}
