/**
 * Crash safety of the upload path: 50 concurrent uploaders seal random media and upload it (half a
 * segment per PUT, half three segments per POST /v1/segments) while the server is killed with SIGKILL at random moments (6 times) and restarted. Uploaders resume from the
 * status call. At the end every recording opens byte-identical to its source, and every segment that
 * was ever acknowledged is still stored with the acknowledged bytes.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRecordingSealer, exportPublicKey, generateEpochKeyPair, openRecording, toBase64Url } from '../../../src/crypto/index.js';
import { SEGMENTS_HEADER, segmentsHeader } from '../../../src/protocol/upload.js';
import { issueAttemptCredential } from '../../../src/server/attempts/attempt.service.js';
import { createInstitution } from '../../../src/server/institutions/institution.service.js';
import { openServices } from '../../../src/server/services.js';
import { type ServerProcess, serverProcess } from '../support/server-process.js';

const UPLOADERS = 50;
const SEGMENTS = 24;
const KILLS = 6;

interface Upload {
  readonly token: string;
  readonly recording: string;
  readonly header: Uint8Array;
  readonly sources: Buffer[];
  readonly sealed: Uint8Array[];
  /** Segments sent in one request: 1 is a PUT each, more a POST /v1/segments of that many. */
  readonly perRequest: number;
  /** Index → SHA-256 of the bytes the server acknowledged. */
  readonly acked: Map<number, string>;
  /** Indexes known to be stored: acknowledged, or listed by a status after a restart. */
  readonly known: Set<number>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function uploadWithRetries(server: ServerProcess, u: Upload, stop: { failed?: Error }): Promise<void> {
  const auth = { authorization: `Bearer ${u.token}` };
  const octet = { ...auth, 'content-type': 'application/octet-stream' };
  for (let attempt = 0; attempt < 10_000 && !stop.failed; attempt++) {
    try {
      const created = await server.request('POST', '/v1/recordings', octet, u.header);
      if (created.status !== 200 && created.status !== 201) throw new Error(`create: ${created.status} ${created.body}`);
      const status = created.json<{ stored: Array<[number, number]>; complete: boolean }>();
      if (status.complete) return;
      const stored = new Set<number>();
      for (const [a, b] of status.stored) for (let i = a; i <= b; i++) stored.add(i);
      for (const i of u.acked.keys()) assert.ok(stored.has(i), `acknowledged segment ${i} of ${u.recording} is missing after a restart`);
      for (const i of stored) u.known.add(i);
      const missing = Array.from({ length: SEGMENTS }, (_, i) => i).filter((i) => !stored.has(i));
      for (let k = 0; k < missing.length; k += u.perRequest) {
        const group = missing.slice(k, k + u.perRequest);
        const bodies = group.map((i) => u.sealed[i] as Uint8Array);
        const r = u.perRequest === 1
          ? await server.request('PUT', `/v1/recordings/${u.recording}/segments/${group[0]}`, octet, bodies[0] as Uint8Array)
          : await server.request('POST', '/v1/segments', { ...octet, [SEGMENTS_HEADER]: segmentsHeader(group.map((index, j) => ({ recording: u.recording, index, size: (bodies[j] as Uint8Array).length }))) }, Buffer.concat(bodies));
        if (r.status !== 200 && r.status !== 201) throw new Error(`put ${group.join(',')}: ${r.status} ${r.body}`);
        group.forEach((i, j) => {
          u.acked.set(i, sha(bodies[j] as Uint8Array));
          u.known.add(i);
        });
        await pause(randomInt(0, 15));
      }
      const done = await server.request('POST', `/v1/recordings/${u.recording}/complete`, { ...auth, 'content-type': 'application/json' }, JSON.stringify({ segmentCount: SEGMENTS }));
      if (done.status !== 200) throw new Error(`complete: ${done.status} ${done.body}`);
      return;
    } catch (e) {
      if (e instanceof assert.AssertionError) {
        stop.failed = e;
        throw e;
      }
      const code = (e as { code?: string }).code;
      // Connection errors are the server dying under us: wait and resume from the status.
      if (!code || !/^(ECONNREFUSED|ECONNRESET|EPIPE|ECONNABORTED)$/.test(code) && !/socket hang up/.test(String(e))) throw e;
      await pause(randomInt(20, 120));
    }
  }
  throw stop.failed ?? new Error('gave up');
}

describe('crash safety', () => {
  it(`${UPLOADERS} uploaders survive ${KILLS} SIGKILLs of the server with nothing acknowledged lost`, { timeout: 240_000 }, async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'examvault-crash-'));
    const running: { server?: { stop(): Promise<unknown> } } = {};
    t.after(async () => {
      await running.server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    const keys = await generateEpochKeyPair();

    // Provision through the services directly, then hand the data directory to the server process.
    const services = await openServices({ dataDir, regions: ['eu'] });
    const inst = await createInstitution(services.cells, services.directory, { name: 'Crash U', region: 'eu', epochPublicKey: toBase64Url(await exportPublicKey(keys.publicKey)) }, Date.now());
    const uploads: Upload[] = [];
    for (let n = 0; n < UPLOADERS; n++) {
      const issued = await issueAttemptCredential(services.cells, services.directory, { institution: inst.id, exam: 'exam-crash', ttlSeconds: 3600 }, Date.now());
      const recording = `rec-${n}`;
      const sealer = await createRecordingSealer({
        context: { institution: inst.id, region: 'eu', exam: 'exam-crash', attempt: issued.attempt, recording, track: 'camera', mediaType: 'video/webm' },
        recipient: keys.publicKey,
        epoch: 1,
        maxSegment: 32 * 1024,
      });
      const sources = Array.from({ length: SEGMENTS }, () => randomBytes(randomInt(1, 32 * 1024)));
      const sealed = [];
      for (const [i, s] of sources.entries()) sealed.push(await sealer.sealNext(s, i === SEGMENTS - 1));
      uploads.push({ token: issued.token, recording, header: sealer.header.bytes, sources, sealed, perRequest: n % 2 === 0 ? 1 : 3, acked: new Map(), known: new Set() });
    }
    await services.close();

    const server = await serverProcess(dataDir, { EXAMVAULT_REGIONS: 'eu' });
    running.server = server;
    await server.start();

    const stop: { failed?: Error } = {};
    const uploading = Promise.all(uploads.map((u) => uploadWithRetries(server, u, stop)));
    // Kill at random points of the upload's progress rather than of the clock, so every kill lands
    // mid-upload however fast this machine is: each threshold is a random count of stored segments.
    const total = UPLOADERS * SEGMENTS;
    const thresholds = Array.from({ length: KILLS }, () => randomInt(Math.floor(total * 0.05), Math.floor(total * 0.8))).sort((a, b) => a - b);
    const storedSoFar = () => uploads.reduce((n, u) => n + u.known.size, 0);
    let kills = 0;
    let finished = false;
    void uploading.finally(() => (finished = true)).catch(() => undefined);
    while (kills < KILLS && !finished) {
      if (storedSoFar() < (thresholds[kills] as number)) {
        await pause(randomInt(1, 5));
        continue;
      }
      await server.kill();
      kills++;
      await pause(randomInt(0, 200));
      await server.start();
    }
    await uploading;
    assert.equal(kills, KILLS, `the uploads finished after only ${kills} kills`);

    // Once more, after all uploads: kill, restart, and check everything from the server's side.
    await server.kill();
    await server.start();
    let acknowledged = 0;
    for (const u of uploads) {
      const auth = { authorization: `Bearer ${u.token}` };
      const status = (await server.request('GET', `/v1/recordings/${u.recording}`, auth)).json<{ complete: boolean; stored: Array<[number, number]> }>();
      assert.equal(status.complete, true);
      assert.deepEqual(status.stored, [[0, SEGMENTS - 1]]);
      const header = await server.request('GET', `/v1/recordings/${u.recording}/header`, auth);
      const opener = await openRecording(new Uint8Array(header.body), keys.privateKey);
      for (let i = 0; i < SEGMENTS; i++) {
        const seg = await server.request('GET', `/v1/recordings/${u.recording}/segments/${i}`, auth);
        assert.equal(seg.status, 200);
        if (u.acked.has(i)) assert.equal(sha(seg.body), u.acked.get(i), `acknowledged segment ${i} of ${u.recording} changed`);
        const { plaintext, last } = await opener.openSegment(i, new Uint8Array(seg.body));
        assert.ok(Buffer.from(plaintext).equals(u.sources[i] as Buffer), `segment ${i} of ${u.recording} differs from its source`);
        assert.equal(last, i === SEGMENTS - 1);
      }
      acknowledged += u.acked.size;
    }
    // A segment made durable just before a kill may never have been acknowledged; it is still stored.
    assert.ok(acknowledged > 0);
    t.diagnostic(`${UPLOADERS} recordings × ${SEGMENTS} segments, ${acknowledged} acknowledgements checked, ${kills + 1} SIGKILLs, all byte-identical`);
  });
});
