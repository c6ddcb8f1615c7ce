/**
 * Provisioning for `npm run bench:unlock`, done in the bench process through the server's own
 * services and app (by injection), on the data directory the real server child then opens: one
 * institution with a real epoch key pair, an admin and a reviewer with real member keys (wrapped by a
 * passphrase), the admin's real approval and grant, and `count` complete recordings (each of its own
 * attempt, sealed to the epoch key, `segments` segments of `segmentBytes` random plaintext bytes).
 * Staff sessions are made with createStaffSession on the cell (there is no passkey ceremony here);
 * their cookies and CSRF tokens are then valid against the child, which reads the same databases.
 */
import { randomBytes } from 'node:crypto';
import {
  type RecordingContext,
  createRecordingSealer,
  exportPublicKey,
  generateEpochKeyPair,
  toBase64Url,
} from '../../src/crypto/index.js';
import { buildApp } from '../../src/server/app.js';
import { issueAttemptCredential } from '../../src/server/attempts/attempt.service.js';
import { loadConfig } from '../../src/server/config.js';
import { createInstitution } from '../../src/server/institutions/institution.service.js';
import { openServices } from '../../src/server/services.js';
import { type Staff, addStaff, approve, register } from '../../test/server/custody/support.js';
import type { TestInstitution, TestServer } from '../../test/server/support/test-server.js';
import { octets } from '../../test/server/support/test-server.js';

export interface BenchRecording {
  readonly id: string;
  /** Plaintext of segment 0, to check what the unlock produced. */
  readonly segment0: Buffer;
}

export interface UnlockProvisioned {
  readonly institution: TestInstitution;
  readonly admin: Staff;
  readonly reviewer: Staff;
  readonly recordings: readonly BenchRecording[];
}

const REGION = 'eu';

/** `env` must be the environment the server child gets (data dir, public origin). */
export async function provisionUnlock(env: Record<string, string>, count: number, segments: number, segmentBytes: number): Promise<UnlockProvisioned> {
  const dataDir = env['EXAMVAULT_DATA_DIR'] as string;
  const config = loadConfig({ env: { EXAMVAULT_LOG_LEVEL: 'silent', ...env }, cwd: dataDir });
  const services = await openServices(config);
  const app = buildApp(config, services);
  try {
    let examCounter = 0;
    // The shape test/server/custody/support.ts drives (a TestServer), over this data directory.
    const s: TestServer = {
      dataDir,
      config,
      services,
      app,
      now: Date.now(),
      async institution(region = REGION) {
        const keys = await generateEpochKeyPair();
        const created = await createInstitution(services.cells, services.directory, {
          name: 'Unlock Benchmark University',
          region,
          epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)),
        }, Date.now());
        return { id: created.id, region, keys };
      },
      async attempt(institution, exam = `bench-exam-${++examCounter}`, ttlSeconds = 6 * 3600) {
        const issued = await issueAttemptCredential(services.cells, services.directory, { institution: institution.id, exam, ttlSeconds }, Date.now());
        return { token: issued.token, institution, exam, attempt: issued.attempt };
      },
      async sealer(attempt, recording, options: { track?: RecordingContext['track']; maxSegment?: number } = {}) {
        return createRecordingSealer({
          context: { institution: attempt.institution.id, region: attempt.institution.region, exam: attempt.exam, attempt: attempt.attempt, recording, track: options.track ?? 'camera', mediaType: 'video/webm' },
          recipient: attempt.institution.keys.publicKey,
          epoch: 1,
          maxSegment: options.maxSegment ?? segmentBytes,
        });
      },
    };
    const institution = await s.institution(REGION);
    const admin = await addStaff(s, institution, 'bench-admin', 'admin');
    const reviewer = await addStaff(s, institution, 'bench-reviewer', 'reviewer');
    await register(s, admin);
    await register(s, reviewer);
    const approved = await approve(s, admin, reviewer, 1, institution.keys);
    if (approved.statusCode !== 201) throw new Error(`approve: ${approved.statusCode} ${approved.body}`);

    const recordings: BenchRecording[] = [];
    for (let r = 0; r < count; r++) {
      const id = `bench-rec-${String(r).padStart(4, '0')}`;
      const att = await s.attempt(institution);
      const sealer = await s.sealer(att, id, { maxSegment: segmentBytes });
      const created = await app.inject({ method: 'POST', url: '/v1/recordings', headers: octets(att.token), payload: Buffer.from(sealer.header.bytes) });
      if (created.statusCode !== 201) throw new Error(`create ${id}: ${created.body}`);
      let segment0: Buffer | null = null;
      for (let i = 0; i < segments; i++) {
        const plain = randomBytes(segmentBytes);
        segment0 ??= plain;
        const sealed = await sealer.sealNext(plain, i === segments - 1);
        const put = await app.inject({ method: 'PUT', url: `/v1/recordings/${id}/segments/${i}`, headers: octets(att.token), payload: Buffer.from(sealed) });
        if (put.statusCode !== 201) throw new Error(`segment ${id}/${i}: ${put.body}`);
      }
      const done = await app.inject({ method: 'POST', url: `/v1/recordings/${id}/complete`, headers: { authorization: `Bearer ${att.token}` }, payload: { segmentCount: segments } });
      if (done.statusCode !== 200) throw new Error(`complete ${id}: ${done.body}`);
      recordings.push({ id, segment0: segment0 as Buffer });
    }
    return { institution, admin, reviewer, recordings };
  } finally {
    await app.close();
    await services.close();
  }
}
