/**
 * npm run bench:unlock — the time from a reviewer's click to the first plaintext segment of a
 * recording, over HTTPS on loopback against the real server (`src/server/main.ts` as a child process):
 *
 *   POST …/unlock (audited durably before it answers) → open the epoch key from the grant →
 *   unwrap the data key from the sealed header → GET …/segments/0 → open segment 0.
 *
 * Cached from sign-in (done once, before the clock runs, and timed separately): the reviewer's HPKE
 * private key (unwrapped from its passphrase-wrapped document: this is where the PBKDF2 KDF runs),
 * the grant document (GET /v1/custody/me/grant) and the epoch public key (GET /v1/custody/epoch).
 * Not cached: the epoch private key is opened from the grant on every click (a second figure shows a
 * client that keeps it for the session), and the data key and segment are fetched and opened per click.
 * The steps run one after the other, as listed; no request is pipelined.
 *
 * Each timed click is of a different recording, never unlocked before (complete, sealed to the epoch
 * key, 2 × N + 5 provisioned: N per figure and 5 warm-up).
 * Baseline, same run, interleaved: a plain HTTPS GET round trip of the same segment 0 (right after
 * its unlock, on the same keep-alive connection pool).
 * Target: median < 50 ms. Exit code 1 if not met.
 * Options: --recordings N (timed, default 60, at least 50), --segment-bytes N (default 250000, a 2-s
 * camera segment at 1 Mbit/s), --segments N per recording (default 3).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fromBase64Url, exportPublicKey, openGrant, openRecording, unwrapPrivateKey } from '../src/crypto/index.js';
import { serverProcess } from '../test/server/support/server-process.js';
import { hardwareLine } from './hardware.js';
import { stats } from './stats.js';
import { provisionUnlock } from './unlock/provision.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const timed = Math.max(50, option('recordings', 60));
const segmentBytes = option('segment-bytes', 250_000);
const segmentsPerRecording = Math.max(1, option('segments', 3));
const WARMUP = 5;
const TARGET_MS = 50;
const PASSPHRASE = 'correct horse battery staple'; // the one test/server/custody/support.ts wraps with

const ms = (x: number) => `${x.toFixed(2).padStart(7)} ms`;

console.log(`ExamVault unlock benchmark — ${hardwareLine()}`);
const dataDir = await mkdtemp(join(tmpdir(), 'examvault-bench-unlock-'));
// Sessions only check that Origin equals the configured public origin; the child and the in-process
// provisioning get the same one.
const origin = 'https://examvault.localhost';
const env = { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_PUBLIC_ORIGIN: origin };
const server = await serverProcess(dataDir, { EXAMVAULT_PUBLIC_ORIGIN: origin });
let met: boolean;
try {
  const started = performance.now();
  const p = await provisionUnlock({ ...env }, 2 * timed + WARMUP, segmentsPerRecording, segmentBytes);
  console.log(`provisioned ${2 * timed + WARMUP} recordings × ${segmentsPerRecording} segments of ${segmentBytes} plaintext bytes in ${((performance.now() - started) / 1000).toFixed(1)} s (in-process services, then the server child on the same data directory)`);
  await server.start();
  const { institution, reviewer } = p;
  const get = reviewer.get;
  const send = { ...reviewer.send, origin };

  // Sign-in (once per session; not part of the click): fetch wrapped keys, grant and epoch key.
  const signInTimes: number[] = [];
  const kdfTimes: number[] = [];
  let hpkePrivateKey: CryptoKey | null = null;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const mine = await server.request('GET', '/v1/custody/me/keys', get);
    if (mine.status !== 200) throw new Error(`me/keys: ${mine.status} ${mine.body.toString()}`);
    const doc = mine.json<{ wrappedKeys: Record<string, unknown> }>().wrappedKeys['reviewer-hpke'];
    const k0 = performance.now();
    const unwrapped = await unwrapPrivateKey(doc, { purpose: 'reviewer-hpke', institution: institution.id, owner: reviewer.id, publicKey: reviewer.keys.hpkePublicKey }, { passphrase: PASSPHRASE });
    kdfTimes.push(performance.now() - k0);
    hpkePrivateKey = unwrapped.privateKey;
    signInTimes.push(performance.now() - t0);
  }
  const grantRes = await server.request('GET', '/v1/custody/me/grant', get);
  if (grantRes.status !== 200) throw new Error(`me/grant: ${grantRes.status} ${grantRes.body.toString()}`);
  const grant = grantRes.json<{ grants: { epoch: number; grant: unknown }[] }>().grants.find((g) => g.epoch === 1)?.grant;
  const epochRes = await server.request('GET', '/v1/custody/epoch', get);
  if (epochRes.status !== 200 || grant === undefined || hpkePrivateKey === null) throw new Error(`sign-in incomplete: epoch ${epochRes.status}`);
  const epochPublicKey = fromBase64Url(epochRes.json<{ publicKey: string }>().publicKey) as Uint8Array;
  if (Buffer.compare(Buffer.from(epochPublicKey), Buffer.from(await exportPublicKey(institution.keys.publicKey))) !== 0) throw new Error('served epoch key differs');
  const hpke = hpkePrivateKey;
  const openEpochKey = () => openGrant(grant, { institution: institution.id, epoch: 1, epochPublicKey }, { kind: 'member', member: reviewer.id, keys: reviewer.keys }, hpke);
  const cachedEpochKey = await openEpochKey();

  const base = `/v1/custody/recordings/${institution.id}`;
  /** Where the time of the uncached clicks goes, per step. */
  const phases = { unlock: [] as number[], keys: [] as number[], segment: [] as number[], open: [] as number[] };
  /** One click: returns ms from the click to segment 0's plaintext, checked against what was sealed. */
  async function click(recording: string, expected: Buffer, keepEpochKey: boolean, record: boolean): Promise<number> {
    const t0 = performance.now();
    const res = await server.request('POST', `${base}/${recording}/unlock`, send);
    if (res.status !== 200) throw new Error(`unlock ${recording}: ${res.status} ${res.body.toString()}`);
    const body = res.json<{ header: string }>();
    const t1 = performance.now();
    const epochKey = keepEpochKey ? cachedEpochKey : await openEpochKey();
    const opener = await openRecording(fromBase64Url(body.header) as Uint8Array, epochKey);
    const t2 = performance.now();
    const seg = await server.request('GET', `${base}/${recording}/segments/0`, get);
    if (seg.status !== 200) throw new Error(`segment ${recording}/0: ${seg.status}`);
    const t3 = performance.now();
    const { plaintext } = await opener.openSegment(0, new Uint8Array(seg.body.buffer, seg.body.byteOffset, seg.body.byteLength));
    const t4 = performance.now();
    const elapsed = t4 - t0;
    if (record) {
      phases.unlock.push(t1 - t0);
      phases.keys.push(t2 - t1);
      phases.segment.push(t3 - t2);
      phases.open.push(t4 - t3);
    }
    if (Buffer.compare(Buffer.from(plaintext), expected) !== 0) throw new Error(`segment 0 of ${recording} does not match what was sealed`);
    return elapsed;
  }
  async function plainGet(recording: string): Promise<number> {
    const t0 = performance.now();
    const seg = await server.request('GET', `${base}/${recording}/segments/0`, get);
    const elapsed = performance.now() - t0;
    if (seg.status !== 200) throw new Error(`baseline GET ${recording}: ${seg.status}`);
    return elapsed;
  }

  const warm = p.recordings.slice(0, WARMUP);
  for (const r of warm) {
    await click(r.id, r.segment0, false, false);
    await plainGet(r.id);
  }
  const unlocks: number[] = [];
  const cached: number[] = [];
  const gets: number[] = [];
  // Every click is of a recording not unlocked before: `timed` for each figure, interleaved.
  const measured = p.recordings.slice(WARMUP);
  for (let i = 0; i < timed; i++) {
    const r = measured[2 * i] as (typeof measured)[number];
    const k = measured[2 * i + 1] as (typeof measured)[number];
    unlocks.push(await click(r.id, r.segment0, false, true));
    cached.push(await click(k.id, k.segment0, true, false));
    gets.push(await plainGet(r.id));
  }

  const u = stats(unlocks);
  const c = stats(cached);
  const g = stats(gets);
  const kdf = stats(kdfTimes);
  const signIn = stats(signInTimes);
  console.log(`\nover HTTPS on loopback (keep-alive), ${timed} unlocks of different recordings per figure (${2 * timed} in all), segment 0 = ${segmentBytes} plaintext bytes; after ${WARMUP} warm-up unlocks`);
  console.log(`  baseline: plain GET of segment 0      median ${ms(g.median)}  p95 ${ms(g.p95)}`);
  console.log(`  click → first plaintext segment       median ${ms(u.median)}  p95 ${ms(u.p95)}  (min ${u.min.toFixed(2)}, max ${u.max.toFixed(2)})  ratio to baseline ${(u.median / g.median).toFixed(2)}`);
  console.log(`    same, epoch key kept for the session median ${ms(c.median)}  p95 ${ms(c.p95)}  ratio to baseline ${(c.median / g.median).toFixed(2)}`);
  const phase = (label: string, xs: number[]) => {
    const x = stats(xs);
    console.log(`      ${label.padEnd(52)} median ${ms(x.median)}  p95 ${ms(x.p95)}`);
  };
  console.log(`    by step (uncached clicks):`);
  phase('POST …/unlock (audit append committed, then header)', phases.unlock);
  phase('epoch key from grant + data key from header (HPKE)', phases.keys);
  phase('GET …/segments/0', phases.segment);
  phase('open segment 0 (AES-256-GCM)', phases.open);
  console.log(`  cached from sign-in: reviewer HPKE private key, grant document, epoch public key; per click: audited unlock, epoch key from grant (HPKE), data key from header (HPKE), GET segment 0, open it`);
  console.log(`\nexcluded from the click (sign-in, once per session), 3 runs:`);
  console.log(`  passphrase KDF + unwrap of the HPKE key (PBKDF2-HMAC-SHA256, served iterations) median ${ms(kdf.median)}`);
  console.log(`  sign-in total (GET me/keys + KDF + unwrap)                                    median ${ms(signIn.median)}`);
  met = u.median < TARGET_MS;
  console.log(`\ntarget: click → first plaintext segment median < ${TARGET_MS} ms: ${met ? 'met' : 'NOT met'} (${u.median.toFixed(2)} ms)`);

} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exitCode = met ? 0 : 1;
