/**
 * The recorder (docs/WEB.md): start → consent → device check → recording → sent. After a reload or
 * a closed tab it starts from what the vault holds: what was sealed is uploaded, and the test taker
 * either continues the same recordings or ends them (each closes with its final segment).
 */
import '../shared/base.css';
import { type Track, decodeHeader } from '../../crypto/index.js';
import type { AttemptInfo } from '../../protocol/attempt.js';
import type { CheckpointResponse, ConsistencyResponse, EntriesResponse } from '../../protocol/audit.js';
import type { EpochResponse } from '../../protocol/custody.js';
import type { HandoffResponse } from '../../protocol/lti.js';
import { readPasscode } from '../../protocol/passcode-format.js';
import type { RedeemedPasscode } from '../../protocol/passcodes.js';
import { ApiCallError, UnreachableError, callJson } from '../shared/api.js';
import { button, el, showScreen } from '../shared/dom.js';
import { liveRegion } from '../shared/live.js';
import { type Capture, pickMimeType, recordInPieces, takeSnapshots } from './capture.js';
import { type EpochCheck, type TrustAnchors, checkEpochKey } from './epoch-trust.js';
import { type LogPin, type LogReader, checkStatementsInLog } from './log-proof.js';
import { anchorsFromJson, anchorsToJson, normaliseCredential, takeHandoff } from './handoff.js';
import { type SealedTrack, isResumable, openSealedTrack, resumeSealedTrack } from './sealed-track.js';
import { ReceiptMismatchError, type UploadState, type Uploader, startUploader } from './uploader.js';
import { type StoredAttempt, type StoredRecording, type Vault, openVault } from './vault.js';
import { pieces, regionName, size, trackNames } from './words.js';
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS, PIECE_SECONDS } from '../../protocol/recording-timing.js';

const APP = 'ExamVault';
/** Each piece is a standalone file this long; the reviewer's player finds a time's piece from it. */
const PIECE_MS = PIECE_SECONDS * 1000;

const main = document.getElementById('main') as HTMLElement;
const live = liveRegion(document.getElementById('live') as HTMLElement);

interface Ready {
  readonly credential: string;
  readonly info: AttemptInfo;
  readonly trust: TrustAnchors;
}

let vault: Vault;
let uploader: Uploader | null = null;
let uploadState: UploadState = { connection: 'idle' };
const pendingViews = new Set<HTMLElement>();

function describeProblem(e: unknown): string {
  if (e instanceof UnreachableError) return 'The ExamVault server cannot be reached. Check your internet connection and try again.';
  if (e instanceof ReceiptMismatchError) return `The server did not confirm the bytes this computer sent (${e.code}). Your recording stays locked on this computer: please tell your institution.`;
  if (e instanceof ApiCallError) {
    if (e.code === 'EV_ERR_AUTH_INVALID_CREDENTIAL') return 'This exam code is not valid. Check that you copied all of it.';
    if (e.code === 'EV_ERR_AUTH_EXPIRED_CREDENTIAL') return 'This exam code has expired. Ask your institution for a new one.';
    if (e.code === 'EV_ERR_PASSCODE_TYPO') return typoMessage;
    if (e.code === 'EV_ERR_HANDOFF_USED' || e.code === 'EV_ERR_HANDOFF_EXPIRED' || e.code === 'EV_ERR_HANDOFF_INVALID') {
      return 'The link from your course page was already used or has expired. Open the exam again from your course page.';
    }
    if (e.code === 'EV_ERR_UPLOAD_EPOCH_NOT_CURRENT') {
      return 'Your institution changed the key that locks recordings while this one was being made, and the server no longer takes it. It stays locked on this computer: please tell your institution.';
    }
    return `The server refused: ${e.message} (${e.code}).`;
  }
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// Pending uploads, shown on every screen that records or sends

async function renderPending(): Promise<void> {
  const recordings = await vault.recordings();
  const waiting = await vault.pending();
  const byTrack = new Map<Track, { count: number; bytes: number }>();
  const trackOf = new Map(recordings.map((r) => [r.id, r.track]));
  for (const w of waiting) {
    const track = trackOf.get(w.recording);
    if (!track) continue;
    const t = byTrack.get(track) ?? { count: 0, bytes: 0 };
    byTrack.set(track, { count: t.count + 1, bytes: t.bytes + w.size });
  }
  const summary = waiting.length === 0
    ? 'Nothing is waiting to be sent.'
    : `${pieces(waiting.length)} (${size(waiting.reduce((s, w) => s + w.size, 0))}) locked on this computer, waiting to be sent.`;
  const connection = {
    sending: 'Sending…',
    idle: 'Connected.',
    offline: 'No connection. Your recording is kept locked on this computer and will be sent when the connection returns.',
    failed: `Sending stopped. ${describeProblem(uploadState.error)}`,
  }[uploadState.connection];
  for (const view of pendingViews) {
    if (!view.isConnected) {
      pendingViews.delete(view);
      continue;
    }
    const rows = [...byTrack].map(([track, t]) => el('tr', {}, el('th', { scope: 'row' }, trackNames[track]), el('td', {}, pieces(t.count)), el('td', {}, size(t.bytes))));
    const table = rows.length > 0 ? el('table', {}, el('caption', {}, 'Waiting to be sent'), el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Signal'), el('th', { scope: 'col' }, 'Pieces'), el('th', { scope: 'col' }, 'Size'))), el('tbody', {}, ...rows)) : '';
    view.replaceChildren(
      el('h2', {}, 'Sending'),
      el('p', { 'data-connection': uploadState.connection }, connection),
      el('p', { 'data-pending': String(waiting.length) }, summary),
      table,
    );
  }
}

function pendingView(): HTMLElement {
  const view = el('section', { 'aria-label': 'Sending' });
  pendingViews.add(view);
  void renderPending();
  return view;
}

function ensureUploader(credential: string): Uploader {
  uploader ??= startUploader(vault, credential, (state) => {
    const changed = state.connection !== uploadState.connection;
    uploadState = state;
    if (changed && state.connection === 'offline') live.announce('Connection lost. Your recording is kept locked on this computer and will be sent when the connection returns.');
    if (changed && state.connection === 'failed') live.announce(`Sending stopped. ${describeProblem(state.error)}`);
    if (changed && state.connection === 'sending') live.announce('Connected. Sending your recording.');
    void renderPending();
  }, () => void renderPending());
  return uploader;
}

// ---------------------------------------------------------------------------------------------
// Start: a passcode or an exam code, unless a sign-in page handed one over

const typoMessage = 'One of the characters is mistyped: check each one against your passcode.';

/** Symbols typed so far, without the separators a passcode is shown with. */
function passcodeSymbols(text: string): number {
  return text.replace(/[\s-]/g, '').length;
}

function startScreen(trust: TrustAnchors, problem?: string): void {
  const input = el('input', { id: 'credential', name: 'credential', type: 'password', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'credential-hint typing' + (problem ? ' credential-error' : ''), required: true });
  // Feedback while typing: the passcode's check character catches a mistyped character before anything is sent.
  const typing = el('p', { id: 'typing', class: 'hint', 'aria-live': 'polite' });
  input.addEventListener('input', () => {
    const text = input.value.trim();
    const reading = text.startsWith('ev1.') || passcodeSymbols(text) < 25 ? null : readPasscode(text);
    typing.className = reading && !reading.ok ? 'error' : 'hint';
    typing.textContent = !reading ? '' : reading.ok ? 'The passcode looks right.' : reading.reason === 'typo' ? typoMessage : 'This is not a passcode: it has 25 letters and digits, in five groups of five.';
  });
  const form = el('form', { novalidate: true },
    el('label', { for: 'credential' }, 'Passcode or exam code'),
    el('p', { id: 'credential-hint', class: 'hint' }, 'The passcode your institution gave you for this exam (five groups of five letters and digits), or an exam code starting with “ev1.”.'),
    problem ? el('p', { id: 'credential-error', class: 'error' }, problem) : null,
    input,
    typing,
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Continue')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const credential = normaliseCredential(input.value);
    if (credential) {
      void prepare(credential, trust);
      return;
    }
    const reading = readPasscode(input.value);
    if (!reading.ok) {
      startScreen(trust, reading.reason === 'typo' ? typoMessage : 'This is neither a passcode (five groups of five letters and digits) nor an exam code (“ev1.eu.” followed by 43 letters, digits, “-” or “_”).');
      return;
    }
    void signIn(trust, 'Checking your passcode…', () => callJson<RedeemedPasscode>('/v1/passcodes/redeem', { method: 'POST', json: { passcode: reading.passcode } }));
  });
  showScreen(main, 'Start your exam recording', APP, el('p', {}, 'This page records you while you take your exam, as your institution requires.'), form);
  if (problem) live.announce(problem);
}

/** Exchanges what a sign-in gave (a passcode, the LTI launch's one-time code) for the attempt credential. */
async function signIn(trust: TrustAnchors, title: string, exchange: () => Promise<RedeemedPasscode | HandoffResponse>): Promise<void> {
  showScreen(main, title, APP);
  let credential: string | null;
  try {
    credential = normaliseCredential((await exchange()).token);
  } catch (e) {
    startScreen(trust, describeProblem(e));
    return;
  }
  if (!credential) {
    startScreen(trust, 'The server answered with something that is not an exam code.');
    return;
  }
  await prepare(credential, trust);
}

/**
 * The served epoch key, checked from the institution's recovery key: the fingerprint a sign-in page
 * handed over, else the one this browser pinned, else (first use) the served institution statement's.
 * A hand-off naming another root than the pinned one is refused. Then every statement of the chain
 * must be in the audit log, proven against a checkpoint that extends the one this browser pinned
 * (log-proof.ts). Only when both hold are the root and the checkpoint pinned.
 */
async function fetchCheckedEpoch(credential: string, info: AttemptInfo, trust: TrustAnchors): Promise<EpochCheck> {
  const served = await callJson<EpochResponse>('/v1/custody/epoch', { token: credential });
  const pinned = await vault.pinnedRoot(info.institution);
  if (pinned && trust.rootFingerprint && pinned !== trust.rootFingerprint) {
    return { ok: false, reason: 'the sign-in page named another institution key than the one this browser pinned earlier' };
  }
  const anchors = pinned && !trust.rootFingerprint ? { ...trust, rootFingerprint: pinned } : trust;
  const check = await checkEpochKey(served, info.institution, anchors, { firstUse: true });
  if (!check.ok) return check;
  const logged = await checkStatementsInLog({
    served,
    reader: logReader(credential),
    ...withPin(await vault.pinnedLog(info.institution)),
    ...(trust.logKey ? { trustedLogKey: trust.logKey } : {}),
  });
  if (!logged.ok) return { ok: false, reason: `${logged.reason} (${logged.code})` };
  await vault.pinLog(info.institution, logged.pin);
  if (check.rootFingerprint && !pinned) await vault.pinRoot(info.institution, check.rootFingerprint);
  return check;
}

const withPin = (pin: LogPin | undefined) => (pin ? { pinned: pin } : {});

function logReader(token: string): LogReader {
  return {
    checkpoint: () => callJson<CheckpointResponse>('/v1/audit/checkpoint', { token }),
    entries: (from, size) => callJson<EntriesResponse>(`/v1/audit/entries?from=${from}&limit=1&size=${size}`, { token }),
    consistency: (from, to) => callJson<ConsistencyResponse>(`/v1/audit/consistency?from=${from}&to=${to}`, { token }),
  };
}

async function prepare(credential: string, trust: TrustAnchors): Promise<void> {
  showScreen(main, 'Checking your exam code…', APP);
  let info: AttemptInfo;
  let check: EpochCheck;
  try {
    info = await callJson<AttemptInfo>('/v1/attempts/me', { token: credential });
    check = await fetchCheckedEpoch(credential, info, trust);
  } catch (e) {
    // An institution awaiting its first admin's set-up has no key yet: another code cannot help.
    if (e instanceof ApiCallError && e.code === 'EV_ERR_CUSTODY_NOT_SET_UP') {
      cannotRecord(`${e.message} (${e.code})`, true);
      return;
    }
    startScreen(trust, describeProblem(e));
    return;
  }
  if (!check.ok) {
    cannotRecord(check.reason);
    return;
  }
  consentScreen({ credential, info, trust });
}

function cannotRecord(reason: string, notSetUp = false): void {
  showScreen(main, 'Recording cannot start', APP,
    el('p', {}, notSetUp
      ? 'Your institution has not finished setting up ExamVault: there is no key yet to lock your recording with, so nothing will be recorded. Please tell your institution.'
      : 'We could not confirm the key that locks your recording for your institution, so nothing will be recorded. Please tell your institution.'),
    el('p', { class: 'hint' }, `Details for your institution: ${reason}.`),
  );
  live.announce(notSetUp ? 'Recording cannot start: your institution has not finished setting up.' : 'Recording cannot start: the institution\'s key could not be confirmed.');
}

// ---------------------------------------------------------------------------------------------
// Consent

/** The exam's snapshot interval, in the words of the consent screen. */
function stillPictures(seconds: number): string {
  if (seconds === 0) return 'None.';
  if (seconds % 60 === 0) return seconds === 60 ? 'A photo from your camera every minute.' : `A photo from your camera every ${seconds / 60} minutes.`;
  return `A photo from your camera every ${seconds} seconds.`;
}

function consentScreen(ready: Ready): void {
  const where = regionName(ready.info.region);
  const signals = el('dl', { class: 'signals' },
    el('dt', {}, 'Camera'), el('dd', {}, 'Video of you, from when you start recording until you finish.'),
    el('dt', {}, 'Microphone'), el('dd', {}, 'Sound around you, for the same time.'),
    el('dt', {}, 'Screen'), el('dd', {}, 'Everything shown on the screen you choose to share, for the same time.'),
    el('dt', {}, 'Still pictures'), el('dd', {}, stillPictures(ready.info.snapshotIntervalSeconds)),
  );
  showScreen(main, 'Before you start: what is recorded', APP,
    el('h2', {}, 'What we record'),
    signals,
    el('h2', {}, 'Where it is kept'),
    el('p', {}, `In ${where}, where your institution keeps its exam recordings. Nothing else about you is collected: no name, no e-mail address.`),
    el('h2', {}, 'Who can see it'),
    el('p', {}, 'Only the reviewers your institution has approved. Your recording is locked on this computer before it is sent, and only their keys can unlock it. The people who run the ExamVault servers cannot see it.'),
    el('p', {}, 'Your institution decides how long the recording is kept, and deletes it after that.'),
    el('div', { class: 'actions' },
      button('I agree, continue', () => void agree(ready)),
      button('I do not agree', () => declined(), { class: 'secondary' }),
    ),
  );
}

function declined(): void {
  showScreen(main, 'Nothing was recorded', APP,
    el('p', {}, 'You did not agree, so nothing was recorded and nothing was sent. If you need another way to take this exam, please contact your institution.'),
  );
}

async function agree(ready: Ready): Promise<void> {
  const stored: StoredAttempt = { credential: ready.credential, info: ready.info, trust: anchorsToJson(ready.trust), consentedAt: Date.now() };
  await vault.saveAttempt(stored);
  deviceCheck(ready);
}

// ---------------------------------------------------------------------------------------------
// Device check

function preview(stream: MediaStream, label: string): HTMLElement {
  const video = el('video', { muted: true, autoplay: true, playsinline: true, 'aria-label': label });
  video.muted = true;
  video.srcObject = stream;
  return el('figure', {}, video, el('figcaption', {}, label));
}

/** `paused`: recordings a previous page started, which this one continues. */
function deviceCheck(ready: Ready, paused: readonly StoredRecording[] = []): void {
  let camera: MediaStream | null = null;
  let screen: MediaStream | null = null;
  const previews = el('div', { class: 'previews' });
  const cameraResult = el('p', { id: 'camera-result' });
  const screenResult = el('p', { id: 'screen-result' });
  const start = el('button', { type: 'button', disabled: true }, 'Start recording');
  const update = () => {
    start.disabled = !(camera && screen);
  };
  const cameraButton = button('Check camera and microphone', () => void (async () => {
    try {
      camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 15 }, audio: true });
      const hasVideo = camera.getVideoTracks().some((t) => t.readyState === 'live');
      const hasAudio = camera.getAudioTracks().some((t) => t.readyState === 'live');
      if (!hasVideo || !hasAudio) throw new Error(hasVideo ? 'no microphone was found' : 'no camera was found');
      previews.prepend(preview(camera, 'Your camera'));
      cameraResult.className = 'ok';
      cameraResult.textContent = 'Camera and microphone work.';
      cameraButton.disabled = true;
      live.announce('Camera and microphone work.');
    } catch (e) {
      camera = null;
      cameraResult.className = 'error';
      cameraResult.textContent = `Camera or microphone not available: ${e instanceof Error ? e.message : String(e)}. Allow this page to use them and try again.`;
      live.announce(cameraResult.textContent);
    }
    update();
  })());
  const screenButton = button('Share your screen', () => void (async () => {
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 5 }, audio: false });
      const surface = screen.getVideoTracks()[0]?.getSettings().displaySurface;
      previews.append(preview(screen, 'Your shared screen'));
      screenResult.className = surface === undefined || surface === 'monitor' ? 'ok' : 'warn';
      screenResult.textContent = surface === undefined || surface === 'monitor' ? 'Screen sharing works.' : 'You shared a window or tab. Your institution may require your entire screen.';
      screenButton.disabled = true;
      live.announce(screenResult.textContent);
    } catch (e) {
      screen = null;
      screenResult.className = 'error';
      screenResult.textContent = `Screen sharing did not start: ${e instanceof Error ? e.message : String(e)}. Try again and choose your entire screen.`;
      live.announce(screenResult.textContent);
    }
    update();
  })());
  start.addEventListener('click', () => {
    if (!camera || !screen) return;
    // Once: a second start would open (or resume) every recording twice.
    start.disabled = true;
    void startRecording(ready, camera, screen, paused).then((started) => {
      if (!started) update();
    });
  });
  showScreen(main, 'Check your camera, microphone and screen', APP,
    el('p', {}, 'Nothing is recorded yet. Check that each one works, then start recording.'),
    el('div', { class: 'actions' }, cameraButton, screenButton),
    cameraResult,
    screenResult,
    previews,
    el('div', { class: 'actions' }, start),
    pendingView(),
  );
}

// ---------------------------------------------------------------------------------------------
// Recording

/** Resolves true once the device check is left behind (recording, or refused); false when the epoch check got no answer, so Start may be pressed again. */
async function startRecording(ready: Ready, camera: MediaStream, screen: MediaStream, paused: readonly StoredRecording[]): Promise<boolean> {
  // The epoch may have moved on since the consent screen: check again right before sealing.
  let check: EpochCheck;
  try {
    check = await fetchCheckedEpoch(ready.credential, ready.info, ready.trust);
  } catch (e) {
    live.announce(describeProblem(e));
    return false;
  }
  if (!check.ok) {
    cannotRecord(check.reason);
    return true;
  }
  const up = ensureUploader(ready.credential);
  const kick = () => up.kick();
  const videoType = pickMimeType(['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm']);
  const audioType = pickMimeType(['audio/webm;codecs=opus', 'audio/webm']);
  // A paused recording goes on if it is sealed to the epoch just checked, in the same format;
  // otherwise (a revocation started a new epoch meanwhile) it is closed and a new one starts.
  const open = async (track: Track, mediaType: string): Promise<SealedTrack> => {
    for (const r of paused.filter((p) => p.track === track && isResumable(p))) {
      const going = resumeSealedTrack(vault, r, kick);
      if (decodeHeader(r.header).keySlot.epoch === check.epoch && r.mediaType === mediaType) return going;
      await going.finish();
    }
    return openSealedTrack({ vault, attempt: ready.info, track, mediaType, epoch: check.epoch, epochKey: check.publicKey, onSealed: kick });
  };
  const tracks: Record<Track, SealedTrack> = {
    camera: await open('camera', videoType),
    microphone: await open('microphone', audioType),
    screen: await open('screen', videoType),
    snapshot: await open('snapshot', 'image/jpeg'),
  };
  const failures: string[] = [];
  const onError = (e: unknown) => {
    failures.push(e instanceof Error ? e.message : String(e));
    live.announce(`Part of the recording failed: ${failures.at(-1)}`);
  };
  const cameraPreview = preview(camera, 'Your camera');
  const cameraVideo = cameraPreview.querySelector('video') as HTMLVideoElement;
  const captures: Capture[] = [
    recordInPieces(new MediaStream(camera.getVideoTracks()), videoType, PIECE_MS, 300_000, tracks.camera.add, onError),
    recordInPieces(new MediaStream(camera.getAudioTracks()), audioType, PIECE_MS, 48_000, tracks.microphone.add, onError),
    recordInPieces(screen, videoType, PIECE_MS, 400_000, tracks.screen.add, onError),
  ];
  // The exam's interval (0: the exam takes no snapshots); the player places them by the same one.
  if (ready.info.snapshotIntervalSeconds > 0) captures.push(takeSnapshots(cameraVideo, ready.info.snapshotIntervalSeconds * 1000, tracks.snapshot.add, onError));
  const startedAt = Date.now();
  const clock = el('p', { id: 'elapsed' }, 'Recording: 0:00');
  const timer = setInterval(() => {
    const s = Math.floor((Date.now() - startedAt) / 1000);
    clock.textContent = `Recording: ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }, 1000);
  for (const t of screen.getVideoTracks()) {
    t.addEventListener('ended', () => live.announce('Screen sharing stopped. Your camera and microphone are still recording. Finish and start again to share your screen.'));
  }
  const finish = button('Finish recording', () => void (async () => {
    finish.disabled = true;
    clearInterval(timer);
    showScreen(main, 'Finishing…', APP, el('p', {}, 'Locking the last pieces of your recording.'), pendingView());
    await Promise.all(captures.map((c) => c.stop()));
    for (const s of [camera, screen]) for (const t of s.getTracks()) t.stop();
    for (const t of Object.values(tracks)) await t.finish().catch(onError);
    up.kick();
    sendingScreen(up);
  })());
  showScreen(main, 'Recording', APP,
    el('p', {}, 'Your camera, microphone and screen are being recorded. Each piece is locked on this computer before it is sent. Keep this page open until the end of your exam.'),
    clock,
    el('div', { class: 'previews' }, cameraPreview, preview(screen, 'Your shared screen')),
    el('div', { class: 'actions' }, finish),
    pendingView(),
  );
  live.announce('Recording started.');
  return true;
}

function sendingScreen(up: Uploader): void {
  showScreen(main, 'Sending the rest of your recording', APP,
    el('p', {}, 'Recording has stopped. Keep this page open until everything is sent.'),
    pendingView(),
  );
  live.announce('Recording finished. Sending the rest of your recording.');
  up.drained().then(async () => {
    await vault.clearAttempt();
    showScreen(main, 'All done', APP, el('p', { id: 'all-sent' }, 'Your whole recording has been sent. You can close this page.'));
    live.announce('Your whole recording has been sent. You can close this page.');
  }, (e: unknown) => {
    live.announce(`Sending stopped. ${describeProblem(e)}`);
  });
}

// ---------------------------------------------------------------------------------------------
// After a reload or a closed tab

async function resume(stored: StoredAttempt): Promise<void> {
  // Recordings from a vault without sealer state (version 2) cannot go on: they are sent as they are.
  for (const r of await vault.recordings()) if (r.state === 'recording' && !isResumable(r)) await vault.updateRecording(r.id, { state: 'interrupted' });
  const paused = (await vault.recordings()).filter(isResumable);
  const up = ensureUploader(stored.credential);
  // An attempt this browser stored before attempt info carried the exam's interval has none: it goes
  // on at the default.
  const saved: Partial<AttemptInfo> = stored.info;
  const info: AttemptInfo = { ...stored.info, snapshotIntervalSeconds: saved.snapshotIntervalSeconds ?? DEFAULT_SNAPSHOT_INTERVAL_SECONDS };
  const ready: Ready = { credential: stored.credential, info, trust: anchorsFromJson(stored.trust as Parameters<typeof anchorsFromJson>[0]) };
  if (paused.length === 0) {
    sendingScreen(up);
    return;
  }
  const over = button('My exam is over', () => void (async () => {
    over.disabled = true;
    // Each recording closes with its final segment, sealed with the state the previous page left.
    for (const r of paused) await resumeSealedTrack(vault, r, () => up.kick()).finish();
    sendingScreen(up);
  })(), { class: 'secondary' });
  showScreen(main, 'Your recording was interrupted', APP,
    el('p', {}, 'The page was reloaded or closed while recording. Everything recorded until then is kept and is being sent.'),
    el('p', {}, 'If your exam is still going on, continue recording: the recording goes on where it stopped.'),
    el('div', { class: 'actions' },
      button('Continue recording', () => deviceCheck(ready, paused)),
      over,
    ),
    pendingView(),
  );
  live.announce('Your recording was interrupted. What was recorded is kept and is being sent.');
}

/**
 * One recorder per browser profile: a second tab would take the first one's recordings for
 * interrupted ones and upload beside it. The lock is held for the page's life. Right after a reload
 * the old page may still hold it for a moment (longer on a busy machine), so the page waits a few
 * seconds before saying another tab has it.
 */
function holdRecorderLock(waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    navigator.locks.request('examvault-recorder', { signal: AbortSignal.timeout(waitMs) }, () => {
      resolve(true);
      return new Promise<void>(() => undefined);
    }).catch(() => resolve(false));
  });
}

async function boot(): Promise<void> {
  if (!(await holdRecorderLock(8000))) {
    showScreen(main, 'The recorder is already open', APP, el('p', {}, 'The exam recorder is open in another tab or window of this browser. Use that one, or close it and reload this page.'));
    return;
  }
  vault = await openVault();
  const handoff = takeHandoff();
  const stored = await vault.attempt();
  if (stored && (await vault.recordings()).length > 0) return resume(stored);
  if (stored) await vault.clearAttempt();
  if (handoff.credential) return prepare(handoff.credential, handoff.trust);
  const code = handoff.code;
  if (code) return signIn(handoff.trust, 'Opening your exam…', () => callJson<HandoffResponse>('/v1/attempts/handoff', { method: 'POST', json: { code } }));
  startScreen(handoff.trust);
}

void boot().catch((e: unknown) => {
  showScreen(main, 'Something went wrong', APP, el('p', { class: 'error' }, describeProblem(e)));
});
