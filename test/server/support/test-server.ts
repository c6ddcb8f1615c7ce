/**
 * A real ExamVault server for tests: real cells (SQLite, filesystem blobs, keyrings) in a temporary
 * data directory, the real app, driven by injection. Institutions get real epoch key pairs so tests
 * can seal, upload and open recordings end to end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type EpochKeyPair,
  type RecordingContext,
  type RecordingSealer,
  createRecordingSealer,
  exportPublicKey,
  generateEpochKeyPair,
  toBase64Url,
} from '../../../src/crypto/index.js';
import { type BuildAppOptions, type ExamVaultApp, buildApp } from '../../../src/server/app.js';
import { issueAttemptCredential } from '../../../src/server/attempts/attempt.service.js';
import { loadConfig } from '../../../src/server/config.js';
import type { ServerConfig } from '../../../src/server/config.types.js';
import { createInstitution } from '../../../src/server/institutions/institution.service.js';
import { type Services, openServices } from '../../../src/server/services.js';
import type { BlobStore } from '../../../src/server/storage/blob-store.js';

export interface TestInstitution {
  readonly id: string;
  readonly region: string;
  readonly keys: EpochKeyPair;
}

export interface TestAttempt {
  readonly token: string;
  readonly institution: TestInstitution;
  readonly exam: string;
  readonly attempt: string;
}

export interface TestServer {
  readonly dataDir: string;
  readonly config: ServerConfig;
  readonly services: Services;
  readonly app: ExamVaultApp;
  /** The clock the server reads; tests may move it. */
  now: number;
  institution(region?: string): Promise<TestInstitution>;
  attempt(institution: TestInstitution, exam?: string, ttlSeconds?: number): Promise<TestAttempt>;
  sealer(attempt: TestAttempt, recording: string, options?: { track?: RecordingContext['track']; maxSegment?: number }): Promise<RecordingSealer>;
}

/** Where cleanup is registered: a test's context (`t`), or `{ after }` from node:test for a suite. */
export interface CleanupScope {
  after(fn: () => Promise<void>): void;
}

/** `logStream`: where the app's log lines go (set `EXAMVAULT_LOG_LEVEL` in `env` to get any). */
export async function startTestServer(t: CleanupScope, env: Record<string, string> = {}, options: Pick<BuildAppOptions, 'logStream'> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'examvault-test-'));
  const config = loadConfig({ env: { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_LOG_LEVEL: 'silent', ...env }, cwd: dataDir });
  const server = { now: Date.now() } as { now: number };
  // Webhook receivers in tests listen on loopback, which a real deployment never delivers to.
  const services = await openServices(config, { clock: () => server.now, webhooks: { allowLoopback: true } });
  const app = buildApp(config, services, options.logStream ? { logStream: options.logStream } : {});
  t.after(async () => {
    await app.close();
    await services.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  let examCounter = 0;
  return Object.assign(server, {
    dataDir,
    config,
    services,
    app,
    async institution(region = 'eu') {
      const keys = await generateEpochKeyPair();
      const created = await createInstitution(services.cells, services.directory, {
        name: `Test University ${region}`,
        region,
        epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)),
      }, server.now);
      return { id: created.id, region, keys };
    },
    async attempt(institution: TestInstitution, exam = `exam-${++examCounter}`, ttlSeconds = 3600) {
      const issued = await issueAttemptCredential(services.cells, services.directory, { institution: institution.id, exam, ttlSeconds }, server.now);
      return { token: issued.token, institution, exam, attempt: issued.attempt };
    },
    async sealer(attempt: TestAttempt, recording: string, options: { track?: RecordingContext['track']; maxSegment?: number } = {}) {
      return createRecordingSealer({
        context: {
          institution: attempt.institution.id,
          region: attempt.institution.region,
          exam: attempt.exam,
          attempt: attempt.attempt,
          recording,
          track: options.track ?? 'camera',
          mediaType: 'video/webm',
        },
        recipient: attempt.institution.keys.publicKey,
        epoch: 1,
        maxSegment: options.maxSegment ?? 64 * 1024,
      });
    },
  }) as TestServer;
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function octets(token: string): Record<string, string> {
  return { ...bearer(token), 'content-type': 'application/octet-stream' };
}

/**
 * The blob keys `blobs` holds for a recording's segments, sorted: those in upload order
 * (`institutions/<institution>/segments/<name>/<recording in hex>/<index>`) and those led by the
 * recording, as segments were stored before.
 */
export async function storedSegmentKeys(blobs: BlobStore, institution: string, recording: string): Promise<string[]> {
  const hex = Buffer.from(recording, 'utf8').toString('hex');
  const keys: string[] = [];
  for await (const key of blobs.list(`institutions/${institution}/segments/`)) if (key.split('/')[4] === hex) keys.push(key);
  for await (const key of blobs.list(`institutions/${institution}/recordings/${hex}/segments/`)) keys.push(key);
  return keys.sort();
}
