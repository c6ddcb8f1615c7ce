/**
 * Real recorder pieces for the reviewer's tests and `npm run bench:playback`: PIECE_SECONDS of
 * Chromium's fake camera and microphone, each recorded by its own MediaRecorder as the recorder
 * records them (standalone WebM: VP8 video, Opus audio), and one JPEG snapshot of the camera, made
 * in a page of the recorder's origin (whose Permissions-Policy allows the camera and microphone), in
 * a context of its own. The browser must run with Chromium's fake devices; the caller closes it.
 * Longer synthetic recordings repeat these pieces, each copy sealed on its own.
 */
import type { Browser } from 'playwright-core';
import { PIECE_SECONDS } from '../../src/protocol/recording-timing.js';

export interface RecordedPieces {
  readonly video: Uint8Array;
  readonly audio: Uint8Array;
  readonly jpeg: Uint8Array;
}

// A string, not a function: tsx would wrap inner helpers in a `__name` the page does not have.
const script = `(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
  const record = (tracks, mimeType) => {
    const rec = new MediaRecorder(new MediaStream(tracks), { mimeType, videoBitsPerSecond: 300000, audioBitsPerSecond: 48000 });
    const parts = [];
    rec.ondataavailable = (e) => parts.push(e.data);
    const stopped = new Promise((r) => { rec.onstop = () => r(new Blob(parts)); });
    rec.start();
    return { rec, stopped };
  };
  const v = record(stream.getVideoTracks(), 'video/webm;codecs=vp8');
  const a = record(stream.getAudioTracks(), 'audio/webm;codecs=opus');
  const preview = document.createElement('video');
  preview.muted = true;
  preview.srcObject = stream;
  await preview.play();
  await new Promise((r) => setTimeout(r, ${PIECE_SECONDS * 1000}));
  v.rec.stop();
  a.rec.stop();
  const canvas = document.createElement('canvas');
  canvas.width = preview.videoWidth;
  canvas.height = preview.videoHeight;
  canvas.getContext('2d').drawImage(preview, 0, 0);
  const jpeg = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.85));
  const blobs = [await v.stopped, await a.stopped, jpeg];
  stream.getTracks().forEach((t) => t.stop());
  const b64 = async (blob) => {
    const u = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
    return btoa(s);
  };
  return Promise.all(blobs.map(b64));
})()`;

/** `pageUrl`: a page whose origin may use the camera and microphone (the recorder's). */
export async function recordPieces(browser: Browser, pageUrl: string): Promise<RecordedPieces> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    await page.goto(pageUrl);
    // A fake device that never starts would otherwise hold the caller forever: page.evaluate has no timeout.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('recording the fake devices took over 60 s')), 60_000); });
    const recorded = await Promise.race([page.evaluate(script) as Promise<string[]>, stalled]).finally(() => clearTimeout(timer));
    const [video, audio, jpeg] = recorded.map((b) => new Uint8Array(Buffer.from(b, 'base64')));
    return { video: video as Uint8Array, audio: audio as Uint8Array, jpeg: jpeg as Uint8Array };
  } finally {
    await context.close();
  }
}
