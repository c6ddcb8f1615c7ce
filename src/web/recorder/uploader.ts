/**
 * Sends what the vault holds, in order, and resumes after any failure (docs/UPLOAD.md "Resuming"):
 * post the header again (idempotent), read the status once per page to drop what the server already
 * holds, upload the rest, then complete. A segment leaves the vault only when the server answered
 * 200 or 201 for it with a receipt for its bytes (index, size and sealing tag).
 *
 * No answer at all (offline, server restarting) is retried with a growing pause (1 s up to 5 s) and
 * at once when the browser says it is back online. An answer with an error code is not retried: the
 * page says what went wrong. One recording, one segment at a time: uploads keep the order they were
 * sealed in, so what is missing after a failure is always the tail.
 */
import { TAG_LENGTH, toHex } from '../../crypto/index.js';
import type { RecordingStatus, SegmentReceipt } from '../../protocol/upload.js';
import { ApiCallError, UnreachableError, call, callJson } from '../shared/api.js';
import type { StoredRecording, Vault } from './vault.js';

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

/** Whether `receipt` acknowledges exactly `sealed` as segment `index`. */
function receiptFits(receipt: Partial<SegmentReceipt>, index: number, sealed: Uint8Array): boolean {
  return receipt.index === index && receipt.size === sealed.length && receipt.tag === toHex(sealed.subarray(sealed.length - TAG_LENGTH));
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

  async function send(r: StoredRecording): Promise<void> {
    const base = `/v1/recordings/${encodeURIComponent(r.id)}`;
    if (!r.created) {
      await call('/v1/recordings', { method: 'POST', token, bytes: r.header });
      await vault.updateRecording(r.id, { created: true });
    }
    if (!synced.has(r.id)) {
      // After a reload or a lost answer the server may hold segments the vault still has.
      const status = await callJson<RecordingStatus>(base, { token });
      for (const [first, last] of status.stored) {
        for (const s of await vault.segments(r.id)) if (s.index >= first && s.index <= last) await vault.deleteSegment(r.id, s.index);
      }
      if (status.complete) {
        await vault.deleteRecording(r.id);
        onProgress();
        return;
      }
      synced.add(r.id);
    }
    // Bytes are read one segment at a time: after a long outage the vault may hold hours of recording.
    for (const s of await vault.segments(r.id)) {
      const sealed = await vault.sealed(r.id, s.index);
      if (!sealed) continue;
      const receipt = (await (await call(`${base}/segments/${s.index}`, { method: 'PUT', token, bytes: sealed })).json()) as Partial<SegmentReceipt>;
      // The local copy goes only once the server has acknowledged these very bytes.
      if (!receiptFits(receipt, s.index, sealed)) throw new ReceiptMismatchError(r.id, s.index);
      // Said only once the server answered: while offline, each retry would otherwise announce "connected".
      onState({ connection: 'sending' });
      await vault.deleteSegment(r.id, s.index);
      onProgress();
    }
    if (r.state === 'finished' && r.segmentCount !== null && (await vault.segments(r.id)).length === 0) {
      try {
        await call(`${base}/complete`, { method: 'POST', token, json: { segmentCount: r.segmentCount } });
      } catch (e) {
        if (!(e instanceof ApiCallError && e.code === 'EV_ERR_UPLOAD_RECORDING_COMPLETE')) throw e;
      }
      await vault.deleteRecording(r.id);
      onProgress();
    } else if (r.state === 'interrupted' && (await vault.segments(r.id)).length === 0) {
      // Every sealed segment is stored; without its data key the recording cannot be closed, so it
      // stays incomplete on the server, which is the truth: it was cut off.
      await vault.deleteRecording(r.id);
      onProgress();
    }
  }

  async function loop(): Promise<void> {
    let pause = 1000;
    while (!stopped) {
      kicked = false;
      try {
        const recordings = await vault.recordings();
        for (const r of recordings) await send(r);
        pause = 1000;
        const left = await vault.recordings();
        const waiting = (await vault.pending()).length;
        if (waiting === 0 && left.every((r) => r.state === 'recording')) {
          onState({ connection: 'idle' });
          if (left.length === 0) for (const w of idleWaiters.splice(0)) w();
        }
        if (!kicked) await new Promise<void>((resolve) => (wake = resolve));
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
