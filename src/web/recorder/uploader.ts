/**
 * Sends what the vault holds, in order, and resumes after any failure (docs/UPLOAD.md "Resuming"):
 * post the header again (idempotent), read the status once per page to drop what the server already
 * holds, upload the rest, then complete. Segments go several at a time, the oldest waiting one of each
 * recording in one request. A segment leaves the vault only when the server answered with a receipt
 * for its bytes (recording, index, size and sealing tag).
 *
 * No answer at all (offline, server restarting) is retried with a growing pause (1 s up to 5 s) and
 * at once when the browser says it is back online. An answer with an error code is not retried: the
 * page says what went wrong. At most one segment of each recording is in flight: a recording's uploads
 * keep the order they were sealed in, so what is missing of it after a failure is always the tail.
 */
import { TAG_LENGTH, concat, toHex } from '../../crypto/index.js';
import { type BatchReceipts, MAX_BATCH_SEGMENTS, type RecordingStatus, SEGMENTS_HEADER, type SegmentReceipt, segmentsHeader } from '../../protocol/upload.js';
import { ApiCallError, UnreachableError, call, callJson } from '../shared/api.js';
import type { StoredRecording, Vault, WaitingSegment } from './vault.js';

export type Connection = 'sending' | 'idle' | 'offline' | 'failed';

/**
 * The server acknowledged a segment with a receipt for other bytes: another index or size, or another
 * sealing tag (its last 16 bytes) than this page sealed. The segment stays in the vault.
 */
export class ReceiptMismatchError extends Error {
  readonly code = 'EV_ERR_RECORDER_RECEIPT_MISMATCH';

  constructor(recording: string, index: number) {
    super(`the server's receipt for segment ${index} of ${recording} is not for the bytes sent`);
    this.name = 'ReceiptMismatchError';
  }
}

/** Whether `receipt` acknowledges exactly `sealed` as segment `index` of `recording`. */
function receiptFits(receipt: Partial<SegmentReceipt>, recording: string, index: number, sealed: Uint8Array): boolean {
  return (
    receipt.recording === recording && receipt.index === index && receipt.size === sealed.length && receipt.tag === toHex(sealed.subarray(sealed.length - TAG_LENGTH))
  );
}

export interface UploadState {
  readonly connection: Connection;
  /** Set when connection is 'failed': what the server answered (an ApiCallError) or what broke. */
  readonly error?: unknown;
}

export interface Uploader {
  /** Something new is in the vault. */
  kick(): void;
  /** Resolves when nothing is waiting and no recording is still being made (or rejects on failure). */
  drained(): Promise<void>;
  stop(): void;
}

/**
 * Bytes of one request at most, unless one segment alone is larger: a few of the recorder's largest
 * segments (4 MiB), well under what the server takes in one request (16 MiB).
 */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/** How long, once woken by a newly sealed segment, the uploader waits for the other tracks' segments. */
const GATHER_MS = 150;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startUploader(vault: Vault, token: string, onState: (s: UploadState) => void, onProgress: () => void): Uploader {
  let wake: (() => void) | null = null;
  let kicked = false;
  let stopped = false;
  /** Recordings whose server status this page has already read. */
  const synced = new Set<string>();
  const idleWaiters: (() => void)[] = [];
  const failWaiters: ((e: Error) => void)[] = [];

  const kick = () => {
    kicked = true;
    wake?.();
  };
  const onOnline = () => kick();
  addEventListener('online', onOnline);

  /**
   * Makes sure the server has the recording and drops from the vault what the server already holds.
   * False when nothing of it is left to send (the server has it complete).
   */
  async function prepare(r: StoredRecording): Promise<boolean> {
    const base = `/v1/recordings/${encodeURIComponent(r.id)}`;
    if (!r.created) {
      await call('/v1/recordings', { method: 'POST', token, bytes: r.header });
      await vault.updateRecording(r.id, { created: true });
    }
    if (synced.has(r.id)) return true;
    // After a reload or a lost answer the server may hold segments the vault still has.
    const status = await callJson<RecordingStatus>(base, { token });
    for (const [first, last] of status.stored) {
      for (const s of await vault.segments(r.id)) if (s.index >= first && s.index <= last) await vault.deleteSegment(r.id, s.index);
    }
    if (status.complete) {
      await vault.deleteRecording(r.id);
      onProgress();
      return false;
    }
    synced.add(r.id);
    return true;
  }

  /**
   * Sends the waiting segments of `recordings`, the oldest of each recording together in one request
   * (docs/UPLOAD.md "Several segments in one request"): the camera, microphone and screen pieces
   * sealed at the same moment travel as one. Bytes are read one request at a time: after a long outage
   * the vault may hold hours of recording.
   */
  async function sendSegments(recordings: readonly StoredRecording[]): Promise<void> {
    const queues = await Promise.all(recordings.map(async (r) => ({ id: r.id, waiting: await vault.segments(r.id) })));
    for (;;) {
      const parts: Array<{ recording: string; index: number; sealed: Uint8Array }> = [];
      let bytes = 0;
      for (const q of queues) {
        if (parts.length === MAX_BATCH_SEGMENTS) break;
        let entry: WaitingSegment | undefined;
        let sealed: Uint8Array | undefined;
        while (!sealed && (entry = q.waiting.shift())) sealed = await vault.sealed(q.id, entry.index);
        if (!sealed || !entry) continue;
        if (parts.length > 0 && bytes + sealed.length > MAX_BATCH_BYTES) {
          q.waiting.unshift(entry);
          break;
        }
        parts.push({ recording: q.id, index: entry.index, sealed });
        bytes += sealed.length;
      }
      if (parts.length === 0) return;
      const body = concat(...parts.map((p) => p.sealed));
      const header = segmentsHeader(parts.map((p) => ({ recording: p.recording, index: p.index, size: p.sealed.length })));
      const answer = (await (await call('/v1/segments', { method: 'POST', token, bytes: body, headers: { [SEGMENTS_HEADER]: header } })).json()) as Partial<BatchReceipts>;
      // The local copies go only once the server has acknowledged these very bytes.
      for (const [i, p] of parts.entries()) {
        const receipt: Partial<SegmentReceipt> = answer.receipts?.[i] ?? {};
        if (!receiptFits(receipt, p.recording, p.index, p.sealed)) throw new ReceiptMismatchError(p.recording, p.index);
      }
      // Said only once the server answered: while offline, each retry would otherwise announce "connected".
      onState({ connection: 'sending' });
      for (const p of parts) await vault.deleteSegment(p.recording, p.index);
      onProgress();
    }
  }

  /** Completes, or forgets, a recording whose segments are all stored. */
  async function close(r: StoredRecording): Promise<void> {
    if ((await vault.segments(r.id)).length > 0) return;
    if (r.state === 'finished' && r.segmentCount !== null) {
      try {
        await call(`/v1/recordings/${encodeURIComponent(r.id)}/complete`, { method: 'POST', token, json: { segmentCount: r.segmentCount } });
      } catch (e) {
        if (!(e instanceof ApiCallError && e.code === 'EV_ERR_UPLOAD_RECORDING_COMPLETE')) throw e;
      }
      await vault.deleteRecording(r.id);
      onProgress();
    } else if (r.state === 'interrupted') {
      // Every sealed segment is stored; without its data key the recording cannot be closed, so it
      // stays incomplete on the server, which is the truth: it was cut off.
      await vault.deleteRecording(r.id);
      onProgress();
    }
  }

  async function send(recordings: readonly StoredRecording[]): Promise<void> {
    const open: StoredRecording[] = [];
    for (const r of recordings) if (await prepare(r)) open.push(r);
    await sendSegments(open);
    for (const r of open) await close(r);
  }

  async function loop(): Promise<void> {
    let pause = 1000;
    while (!stopped) {
      kicked = false;
      try {
        const recordings = await vault.recordings();
        await send(recordings);
        pause = 1000;
        const left = await vault.recordings();
        const waiting = (await vault.pending()).length;
        if (waiting === 0 && left.every((r) => r.state === 'recording')) {
          onState({ connection: 'idle' });
          if (left.length === 0) for (const w of idleWaiters.splice(0)) w();
        }
        if (!kicked) {
          await new Promise<void>((resolve) => (wake = resolve));
          // The tracks' pieces are sealed moments apart: let the others join the first one's request.
          await sleep(GATHER_MS);
        }
        wake = null;
      } catch (e) {
        if (e instanceof UnreachableError) {
          onState({ connection: 'offline' });
          await Promise.race([sleep(pause), new Promise<void>((resolve) => (wake = resolve))]);
          wake = null;
          pause = Math.min(pause * 2, 5000);
          continue;
        }
        onState({ connection: 'failed', error: e });
        for (const w of failWaiters.splice(0)) w(e instanceof Error ? e : new Error(String(e)));
        // A refused upload is not retried in a loop; a kick (new data, back online) tries again.
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
      }
    }
  }
  void loop();

  return {
    kick,
    drained: () => new Promise<void>((resolve, reject) => {
      idleWaiters.push(resolve);
      failWaiters.push(reject);
      kick();
    }),
    stop() {
      stopped = true;
      removeEventListener('online', onOnline);
      wake?.();
    },
  };
}
