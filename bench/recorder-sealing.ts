/**
 * The recorder's sealing cost (issue 6, half of bench:playback): CPU time spent sealing as a
 * fraction of recording time; target < 1 %.
 *
 * The real recorder (the built app, served by the real server with its CSP) records ~20 s in headless
 * Chromium with fake camera, microphone and screen; the institution's epoch key is checked as in
 * production (chain and audit log). What is measured, from the moment the "Recording" screen shows
 * until everything recorded is sealed and sent:
 *
 * - **the page's main thread**: a V8 CPU profile (CDP Profiler, sampled every 200 µs), summing the
 *   time of every sample inside `sealNext` (self and callees: index bookkeeping, argument checks,
 *   handing the plaintext to WebCrypto);
 * - **Blink's WebCrypto tasks**, where `crypto.subtle.encrypt` (AES-256-GCM) actually runs, outside
 *   any script frame: a Chromium trace (category `disabled-by-default-devtools.timeline`), summing
 *   the thread CPU time (`tdur`) of every `DoEncrypt` (the encryption) and `DoEncryptReply` (the
 *   ciphertext handed back to script). There must be exactly one `DoEncrypt` per sealed segment,
 *   or the measure is refused. The SHA-256 each piece's `examvault:sealed` event carries
 *   (`DoDigest`) is not sealing and is not counted.
 *
 * `sealCpuMs` is their sum; `recordedMs` the wall time between starting and finishing the recording;
 * `fraction` = sealCpuMs / recordedMs. Not counted: encoding (MediaRecorder, the real cost), the
 * IndexedDB writes and the uploads. Chromium at /usr/bin/chromium or on PATH.
 *
 * Run alone: `node --import tsx bench/recorder-sealing.ts [--seconds 20]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { buildApp } from '../src/server/app.js';
import type { SealedEventDetail } from '../src/web/recorder/sealed-track.js';
import { addStaff, register } from '../test/server/custody/support.js';
import { startTestServer } from '../test/server/support/test-server.js';
import { chromiumArgs, fakeMediaArgs } from '../test/support/browser.js';
import { chromiumTool, findTool } from '../test/support/system-tools.js';
import { builtWebApps } from '../test/support/web-build.js';
import { heading, passDeviceCheck } from '../test/web/recorder-support.js';
import { hardwareLine } from './hardware.js';
import { collectPageEvents } from '../test/support/page-events.js';

export interface RecorderSealing {
  /** CPU milliseconds spent sealing: script time in `sealNext` plus Blink's encryption tasks. */
  readonly sealCpuMs: number;
  /** Wall milliseconds of recording. */
  readonly recordedMs: number;
  /** sealCpuMs / recordedMs. */
  readonly fraction: number;
  /** Segments sealed (all four tracks, final segments included). */
  readonly segments: number;
  /** The two halves of sealCpuMs. */
  readonly mainThreadMs: number;
  /** CPU of the DoEncrypt and DoEncryptReply tasks. */
  readonly encryptTasksMs: number;
  /** Plaintext bytes sealed. */
  readonly bytes: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Milliseconds of samples that fall inside a function named `name` (self and callees, counted once). */
export function timeInside(profile: CpuProfile, name: string): number {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inside = new Map<number, boolean>();
  const isInside = (id: number): boolean => {
    const known = inside.get(id);
    if (known !== undefined) return known;
    const p = parent.get(id);
    const result = byId.get(id)?.callFrame.functionName === name || (p !== undefined && isInside(p));
    inside.set(id, result);
    return result;
  };
  // timeDeltas[i] is the time between sample i-1 and sample i: the duration of sample i-1.
  let us = 0;
  for (let i = 0; i + 1 < profile.samples.length; i++) if (isInside(profile.samples[i] as number)) us += profile.timeDeltas[i + 1] as number;
  return us / 1000;
}

interface TraceEvent {
  readonly ph: string;
  readonly name: string;
  /** Thread CPU time of a complete event, µs. */
  readonly tdur?: number;
}

/**
 * Blink's WebCrypto work, from a Chromium trace: `DoEncrypt` (AES-GCM over the plaintext) and
 * `DoEncryptReply` (the ciphertext handed back to script as an ArrayBuffer), each a task of its own,
 * with the thread CPU time the trace records for it. Digests (`DoDigest`) are not sealing.
 */
export function encryptCpuMs(events: readonly TraceEvent[]): { ms: number; count: number } {
  let us = 0;
  let count = 0;
  for (const e of events) {
    if (e.ph !== 'X' || (e.name !== 'DoEncrypt' && e.name !== 'DoEncryptReply')) continue;
    us += e.tdur ?? 0;
    if (e.name === 'DoEncrypt') count++;
  }
  return { ms: us / 1000, count };
}

export async function measureRecorderSealing(options: { seconds?: number } = {}): Promise<RecorderSealing> {
  const seconds = options.seconds ?? 20;
  const executablePath = findTool(chromiumTool);
  if (!executablePath) throw new Error('Chromium is needed: apt-get install chromium');
  const cleanups: (() => Promise<void>)[] = [];
  const scope = { after: (fn: () => Promise<void>) => void cleanups.unshift(fn) };
  const shots = await mkdtemp(join(tmpdir(), 'examvault-bench-shots-'));
  cleanups.push(() => rm(shots, { recursive: true, force: true }));
  try {
    // An institution set up by its first admin (recovery key → enrolment → epoch 1), one attempt.
    const s = await startTestServer(scope);
    const inst = await s.institution('eu');
    await register(s, await addStaff(s, inst, 'adm-1', 'admin'));
    const attempt = await s.attempt(inst);
    const app = buildApp(s.config, s.services, { webDir: await builtWebApps() });
    scope.after(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const origin = `http://localhost:${(app.server.address() as AddressInfo).port}`;

    const browser = await chromium.launch({ executablePath, headless: true, args: [...chromiumArgs, ...fakeMediaArgs] });
    scope.after(() => browser.close());
    const context = await browser.newContext();
    const sealed = await collectPageEvents<SealedEventDetail>(context, 'examvault:sealed');
    const page = await context.newPage();
    await page.goto(`${origin}/app/recorder/`);
    await heading(page, 'Start your exam recording');
    await page.getByLabel('Exam code').fill(attempt.token);
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Before you start: what is recorded');
    await page.getByRole('button', { name: 'I agree, continue' }).click();

    const cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });

    await passDeviceCheck(page, shots, null);
    // The sealers exist now (their HPKE wraps are done): from here on, sealing is all there is to count.
    await browser.startTracing(page, { categories: ['disabled-by-default-devtools.timeline'] });
    await cdp.send('Profiler.start');
    const startedAt = Date.now();
    await page.waitForTimeout(seconds * 1000);
    await page.getByRole('button', { name: 'Finish recording' }).click();
    const recordedMs = Date.now() - startedAt;
    await page.locator('#all-sent').waitFor({ timeout: 60_000 });
    const { profile } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
    const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] };

    const mainThreadMs = timeInside(profile, 'sealNext');
    const crypto = encryptCpuMs(trace.traceEvents);
    if (crypto.count !== sealed.length) throw new Error(`the trace shows ${crypto.count} encryptions for ${sealed.length} sealed segments: the measure is not of sealing`);
    const encryptTasksMs = crypto.ms;
    const sealCpuMs = mainThreadMs + encryptTasksMs;
    return {
      sealCpuMs, recordedMs, fraction: sealCpuMs / recordedMs, segments: sealed.length,
      mainThreadMs, encryptTasksMs, bytes: sealed.reduce((n, d) => n + Math.max(0, d.sealedSize - 16), 0),
    };
  } finally {
    for (const fn of cleanups) await fn().catch(() => undefined);
  }
}

/** Prints the figures; true when the target (under 1 % of recording time) is met. */
export function reportRecorderSealing(r: RecorderSealing): boolean {
  const met = r.fraction < 0.01;
  console.log(`recorder sealing: ${r.segments} segments, ${(r.bytes / 1e6).toFixed(2)} MB in ${(r.recordedMs / 1000).toFixed(1)} s of recording`);
  console.log(`  CPU spent sealing: ${r.sealCpuMs.toFixed(1)} ms (script in sealNext ${r.mainThreadMs.toFixed(1)} ms + Blink's encryption tasks ${r.encryptTasksMs.toFixed(1)} ms)`);
  console.log(`  fraction of recording time: ${(r.fraction * 100).toFixed(3)} % (target < 1 %) ${met ? 'MET' : 'NOT MET'}`);
  return met;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--seconds');
  const r = await measureRecorderSealing(i > 0 ? { seconds: Number(process.argv[i + 1]) } : {});
  console.log(hardwareLine());
  process.exitCode = reportRecorderSealing(r) ? 0 : 1;
}
