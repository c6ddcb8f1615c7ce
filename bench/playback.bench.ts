/**
 * npm run bench:playback — the seek half: in a synthetic two-hour recording, the time from a seek
 * on the reviewer's timeline to the first decoded frame, over HTTPS on loopback against the real
 * server, in the real reviewer page in headless Chromium.
 *
 * Set-up (not timed): one real PIECE_SECONDS piece of Chromium's fake camera (VP8 WebM, recorded by
 * MediaRecorder as the recorder records it) is sealed 1,800 times for the camera and 1,800 times for
 * the screen (two hours each, every copy sealed on its own under the recording's data key) and
 * uploaded through the upload API. A reviewer makes their key in the page, is approved by the admin's
 * client from the safety number the page shows, unlocks the attempt and opens the player.
 *
 * Timed: 50 seeks to random times (a fixed seed), the player paused. A seek is the timeline control's
 * `change` event; it ends at the first frame the camera element presents from the piece at that time
 * (requestVideoFrameCallback, mediaTime within 0.25 s of the target). In between: GET the piece's
 * segment, open it (AES-256-GCM), make a blob: URL, load it in the element, seek within it, decode.
 * The screen's first frame is timed too (both elements load in parallel). Every seek's segment
 * requests are counted: only the camera and screen pieces at that time and the next ones ahead.
 *
 * Baseline, same run, interleaved: a seek to another time within the piece already loaded (no
 * request, no decryption): the media element's own seek and decode.
 * Target: median < 300 ms. Exit code 1 if not met. Options: --seeks N (default 50), --pieces N per
 * track (default 1800: two hours).
 */
import { performance } from 'node:perf_hooks';
import { PIECE_SECONDS } from '../src/protocol/recording-timing.js';
import { ltiScenario } from '../test/server/lti/support.js';
import { appChromiumArgs } from '../test/support/browser.js';
import { chromiumTool, findTool } from '../test/support/system-tools.js';
import { builtWebApps } from '../test/support/web-build.js';
import { approveBySafetyNumber, launchChromium, newAttempt, reviewerOpensAttempt, setUpInstitution, uploadRecording } from '../test/web/reviewer-support.js';
import { hardwareLine } from './hardware.js';
import { stats } from './stats.js';
import { recordPieces } from './playback/piece.js';
import { measureRecorderSealing, reportRecorderSealing } from './recorder-sealing.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SEEKS = Math.max(1, option('seeks', 50));
const PIECES = Math.max(4, option('pieces', 1800));
const TARGET_MS = 300;

const ms = (x: number) => `${x.toFixed(1).padStart(7)} ms`;

/** A fixed-seed generator, so every run seeks to the same times. */
function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/**
 * In the page: set the timeline to `target` (a `change`, as a keyboard step or a drag's end makes),
 * then wait for each element's first presented frame of the piece at `target`. A string, not a
 * function: tsx would wrap inner helpers in a `__name` the page does not have.
 */
const seekScript = (target: number, pieceKey: (track: string) => string, offset: number) => `(async () => {
  const range = document.getElementById('player-time');
  const frame = (id, key) => new Promise((resolve) => {
    const v = document.getElementById(id);
    const wait = () => v.requestVideoFrameCallback((now, meta) => {
      if (v.dataset.piece === key && Math.abs(meta.mediaTime - ${offset}) < 0.25) resolve(performance.now() - t0);
      else wait();
    });
    wait();
  });
  const t0 = performance.now();
  const camera = frame('player-camera', ${JSON.stringify(pieceKey('camera'))});
  const screen = frame('player-screen', ${JSON.stringify(pieceKey('screen'))});
  range.value = '${target}';
  range.dispatchEvent(new Event('change'));
  return { camera: await camera, both: Math.max(await camera, await screen) };
})()`;

console.log(`ExamVault playback benchmark (seek) — ${hardwareLine()}`);
const executablePath = findTool(chromiumTool);
if (!executablePath) throw new Error(`Chromium is needed: ${chromiumTool.install}`);
const cleanups: (() => Promise<void>)[] = [];
let met: boolean;
try {
  const s = await ltiScenario({ after: (fn) => void cleanups.unshift(fn) }, { webDir: await builtWebApps() });
  const admin = await setUpInstitution(s);
  const { browser } = await launchChromium((fn) => void cleanups.unshift(fn), executablePath, appChromiumArgs);
  const piece = await recordPieces(browser, `${s.origin}/app/recorder/`);
  const attempt = await newAttempt(s);
  const started = performance.now();
  const video = 'video/webm;codecs=vp8';
  await Promise.all(['camera', 'screen'].map((track) => uploadRecording(s, attempt, {
    recording: `rec-${track}-bench`, track: track as 'camera' | 'screen', pieces: Array.from({ length: PIECES }, () => piece.video), maxSegment: 4 * 1024 * 1024, mediaType: video,
  })));
  const hours = (PIECES * PIECE_SECONDS) / 3600;
  console.log(`sealed and uploaded ${PIECES} pieces × 2 tracks (camera, screen) of ${piece.video.length} bytes (${hours.toFixed(2)} h each) over HTTPS in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  context.on('request', (r) => requests.push(new URL(r.url()).pathname));
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`pageerror: ${e.message}`));
  const opening = performance.now();
  await reviewerOpensAttempt({ s, page, approve: (n) => approveBySafetyNumber(s, admin, 'stf-bench-reviewer', n), reviewer: 'stf-bench-reviewer', attempt: attempt.attempt });
  await page.waitForFunction(() => (document.getElementById('player-camera') as HTMLVideoElement | null)?.dataset['piece'] !== undefined);
  console.log(`reviewer page: key made, approved, attempt unlocked and first piece shown in ${((performance.now() - opening) / 1000).toFixed(1)} s (includes PBKDF2 and the admin's approval)`);

  const next = random(20261126);
  const duration = PIECES * PIECE_SECONDS;
  const seeks: number[] = [];
  const both: number[] = [];
  const baseline: number[] = [];
  const fetchesPerSeek: number[] = [];
  // Two warm-up seeks, not counted.
  for (let i = -2; i < SEEKS; i++) {
    // Whole seconds (the control's step), away from piece edges so the target frame is unambiguous.
    const target = Math.floor(next() * (duration - 2 * PIECE_SECONDS)) + 1;
    const n = Math.floor(target / PIECE_SECONDS);
    const offset = target - n * PIECE_SECONDS;
    const key = (track: string) => `rec-${track}-bench#${n}`;
    const before = requests.length;
    const r = await page.evaluate(seekScript(target, key, offset)) as { camera: number; both: number };
    const fetched = requests.slice(before).filter((p) => p.includes('/segments/'));
    // Within the same piece: a different whole second, no fetch.
    const inside = offset >= 2 ? target - 1 : target + 1;
    const b = await page.evaluate(seekScript(inside, key, inside - n * PIECE_SECONDS)) as { camera: number };
    if (i < 0) continue;
    seeks.push(r.camera);
    both.push(r.both);
    baseline.push(b.camera);
    fetchesPerSeek.push(fetched.length);
    const allowed = new Set([n, n + 1].flatMap((p) => ['camera', 'screen'].map((t) => `/rec-${t}-bench/segments/${p}`)));
    for (const f of fetched) if (![...allowed].some((a) => f.endsWith(a))) throw new Error(`seek to ${target} s fetched ${f}, which it does not need`);
  }

  const c = stats(seeks);
  const w = stats(both);
  const bl = stats(baseline);
  const f = stats(fetchesPerSeek);
  console.log(`\n${SEEKS} random seeks in a ${hours.toFixed(2)}-hour recording (camera and screen, ${PIECES} pieces each), paused, reviewer page in headless Chromium, HTTPS on loopback`);
  console.log(`  baseline: seek within the loaded piece      median ${ms(bl.median)}  p95 ${ms(bl.p95)}`);
  console.log(`  seek → first decoded camera frame          median ${ms(c.median)}  p95 ${ms(c.p95)}  (min ${c.min.toFixed(1)}, max ${c.max.toFixed(1)})  ratio to baseline ${(c.median / bl.median).toFixed(2)}`);
  console.log(`  seek → first frame of camera and screen    median ${ms(w.median)}  p95 ${ms(w.p95)}`);
  console.log(`  segments requested per seek by its first frame: median ${f.median}, max ${f.max} (each only the piece at that time or the next, per track; ${2 * PIECES} pieces stored)`);
  met = c.median < TARGET_MS;
  console.log(`\ntarget: seek → first decoded frame median < ${TARGET_MS} ms: ${met ? 'met' : 'NOT met'} (${c.median.toFixed(1)} ms)`);
} finally {
  for (const fn of cleanups) await fn().catch((e: unknown) => console.error(e));
}
// The other half of the figure: what sealing costs the recorder while it records.
console.log('');
const sealingMet = reportRecorderSealing(await measureRecorderSealing());
process.exitCode = met && sealingMet ? 0 : 1;
