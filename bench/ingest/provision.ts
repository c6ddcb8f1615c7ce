/**
 * Everything the load generator sends, made before any server starts: one institution with a real
 * epoch key pair, an attempt credential per simulated test taker, a real sealed header for each of
 * the taker's three recordings (each its own sealer, so each header is distinct and binds its own
 * context), and a pool of real sealed segment bodies per track.
 *
 * The bodies are reused across takers and segments: sealing 200 MB/s of fresh media for a thousand
 * takers would need more CPU than the server under test gets, and the server cannot tell (it holds no
 * key to the recordings; it checks sizes, indexes and credentials and hashes what it stores).
 *
 * Provisioning writes a template data directory through the server's own services; every ExamVault
 * run starts on a fresh copy of it, so no run sees another's recordings.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Track } from '../../src/crypto/index.js';

/**
 * The modules provisioning uses, loaded from the compiled tree the server under test runs from
 * (dist/), so that the template's database schema and the sealed format always match that server
 * even while src/ is being edited. Types come from src/.
 */
async function compiled(root: string) {
  const load = <T>(path: string): Promise<T> => import(pathToFileURL(join(root, 'dist', path)).href) as Promise<T>;
  return {
    crypto: await load<typeof import('../../src/crypto/index.js')>('crypto/index.js'),
    attempts: await load<typeof import('../../src/server/attempts/attempt.service.js')>('server/attempts/attempt.service.js'),
    config: await load<typeof import('../../src/server/config.js')>('server/config.js'),
    institutions: await load<typeof import('../../src/server/institutions/institution.service.js')>('server/institutions/institution.service.js'),
    services: await load<typeof import('../../src/server/services.js')>('server/services.js'),
    tls: await load<typeof import('../../src/server/tls/local-certificate.js')>('server/tls/local-certificate.js'),
  };
}

/** One recording of a test taker: bytes per 2-s segment follow the track's bit rate. */
export interface TrackSpec {
  readonly track: Track;
  readonly label: string;
  readonly mbitPerSecond: number;
  /** Plaintext bytes per segment: bit rate × segment duration. */
  readonly segmentBytes: number;
}

export const SEGMENT_SECONDS = 2;
export const trackSpecs: readonly TrackSpec[] = [
  { track: 'camera', label: 'camera', mbitPerSecond: 1.0, segmentBytes: 250_000 },
  { track: 'screen', label: 'screen', mbitPerSecond: 0.5, segmentBytes: 125_000 },
  { track: 'microphone', label: 'audio', mbitPerSecond: 0.1, segmentBytes: 25_000 },
];

export interface BenchRecording {
  readonly id: string;
  readonly trackIndex: number;
  /** The recording's own sealed header (POST /v1/recordings). */
  readonly header: Buffer;
}

export interface BenchTaker {
  readonly token: string;
  readonly recordings: readonly BenchRecording[];
}

export interface Provisioned {
  /** Template ExamVault data directory: databases, keyrings, certificate; no recordings. */
  readonly templateDir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly takers: readonly BenchTaker[];
  /** Sealed segment bodies, per track (trackSpecs order). */
  readonly pool: readonly (readonly Buffer[])[];
  /** Sealed bytes a taker sends per 2-s segment period, all tracks. */
  readonly bytesPerTakerPeriod: number;
}

const REGION = 'eu';
const EXAM = 'bench-exam';

/** Runs `fn` over `items` with at most `limit` in flight, keeping the order of results. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function provision(root: string, workDir: string, takerCount: number, poolSize: number): Promise<Provisioned> {
  const m = await compiled(root);
  const { createRecordingSealer, exportPublicKey, generateEpochKeyPair, toBase64Url } = m.crypto;
  const templateDir = join(workDir, 'template');
  const certificate = await m.tls.ensureLocalCertificate(templateDir);
  const config = m.config.loadConfig({ env: { EXAMVAULT_DATA_DIR: templateDir, EXAMVAULT_LOG_LEVEL: 'silent' }, cwd: workDir });
  const services = await m.services.openServices(config);
  const keys = await generateEpochKeyPair();
  const now = Date.now();
  let takers: BenchTaker[];
  try {
    const institution = await m.institutions.createInstitution(services.cells, services.directory, {
      name: 'Benchmark University',
      region: REGION,
      epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)),
    }, now);
    const indexes = Array.from({ length: takerCount }, (_, i) => i);
    // Credentials are SQLite inserts (one commit each): one at a time, as the CLI issues them.
    const issued = await mapLimit(indexes, 1, () =>
      m.attempts.issueAttemptCredential(services.cells, services.directory, { institution: institution.id, exam: EXAM, ttlSeconds: 6 * 3600 }, now));
    takers = await mapLimit(indexes, 16, async (i) => {
      const attempt = issued[i] as (typeof issued)[number];
      const recordings = await Promise.all(trackSpecs.map(async (spec, trackIndex) => {
        const id = `t${String(i).padStart(5, '0')}-${spec.label}`;
        const sealer = await createRecordingSealer({
          context: { institution: institution.id, region: REGION, exam: EXAM, attempt: attempt.attempt, recording: id, track: spec.track, mediaType: 'video/webm' },
          recipient: keys.publicKey,
          epoch: institution.epoch,
        });
        return { id, trackIndex, header: Buffer.from(sealer.header.bytes) };
      }));
      return { token: attempt.token, recordings };
    });
  } finally {
    await services.close();
  }

  // The pool: real segments of real recordings (of a throwaway attempt context), random plaintext
  // standing in for compressed media, which does not compress further either.
  const pool = await Promise.all(trackSpecs.map(async (spec) => {
    const sealer = await createRecordingSealer({
      context: { institution: 'bench-pool', region: REGION, exam: EXAM, attempt: 'bench-pool', recording: `pool-${spec.label}`, track: spec.track, mediaType: 'video/webm' },
      recipient: keys.publicKey,
      epoch: 1,
    });
    const bodies: Buffer[] = [];
    for (let i = 0; i < poolSize; i++) bodies.push(Buffer.from(await sealer.sealNext(randomBytes(spec.segmentBytes), false)));
    return bodies;
  }));
  return {
    templateDir,
    certPath: certificate.certPath,
    keyPath: certificate.keyPath,
    certPem: certificate.certPem,
    takers,
    pool,
    bytesPerTakerPeriod: pool.reduce((sum, bodies) => sum + (bodies[0] as Buffer).length, 0),
  };
}
