/**
 * One recording per track (camera, microphone, screen, snapshot), sealed in the page as each piece
 * is produced (docs/SPEC.md): a fresh data key per recording, wrapped to the checked epoch key, bound
 * to the attempt's context. Each sealed segment is written to the vault before it is announced to
 * the uploader; the plaintext is dropped right after sealing.
 *
 * Every sealed segment is also announced as a DOM event, `examvault:sealed`, with its recording,
 * index, size, the time sealing took and the SHA-256 of its plaintext: a progress signal for an embedding page, and what the
 * end-to-end test compares the reviewer's decryption with. A hash of the recording's own bytes tells
 * nothing to a page that already holds them.
 */
import { type RecordingContext, type RecordingSealer, type Track, createRecordingSealer, resumeRecordingSealer, toBase64Url, toHex } from '../../crypto/index.js';
import type { AttemptInfo } from '../../protocol/attempt.js';
import type { StoredRecording, Vault } from './vault.js';

/** Largest plaintext per segment; a larger piece (a long screen piece) is split across segments. */
export const MAX_SEGMENT = 4 * 1024 * 1024;

export const SEALED_EVENT = 'examvault:sealed';

export interface SealedEventDetail {
  readonly recording: string;
  readonly track: Track;
  readonly index: number;
  readonly last: boolean;
  readonly plaintextSha256: string;
  readonly sealedSize: number;
  /** Wall-clock milliseconds sealNext took: the recorder's sealing cost. */
  readonly sealMs: number;
}

export interface SealedTrack {
  readonly recording: string;
  readonly track: Track;
  /** Seals one piece (split if larger than a segment) and stores it. */
  add(piece: Uint8Array): Promise<void>;
  /** Seals the empty final segment and marks the recording finished. */
  finish(): Promise<void>;
}

/**
 * A recording a reloaded page can go on with: still `recording`, with its sealer state. (One of a
 * vault from before resumable recordings has none: it can only be sent as it is.)
 */
export function isResumable(r: StoredRecording): r is StoredRecording & Required<Pick<StoredRecording, 'sealer' | 'nextIndex'>> {
  return r.state === 'recording' && r.sealer !== undefined && r.nextIndex !== undefined;
}

function newRecordingId(track: Track): string {
  return `rec-${track}-${toBase64Url(crypto.getRandomValues(new Uint8Array(12)))}`;
}

export async function openSealedTrack(params: {
  readonly vault: Vault;
  readonly attempt: AttemptInfo;
  readonly track: Track;
  readonly mediaType: string;
  readonly epoch: number;
  readonly epochKey: CryptoKey;
  readonly onSealed: () => void;
}): Promise<SealedTrack> {
  const recording = newRecordingId(params.track);
  const context: RecordingContext = {
    institution: params.attempt.institution,
    region: params.attempt.region,
    exam: params.attempt.exam,
    attempt: params.attempt.attempt,
    recording,
    track: params.track,
    mediaType: params.mediaType,
  };
  const sealer: RecordingSealer = await createRecordingSealer({ context, recipient: params.epochKey, epoch: params.epoch, maxSegment: MAX_SEGMENT });
  await params.vault.putRecording({
    id: recording,
    track: params.track,
    mediaType: params.mediaType,
    header: sealer.header.bytes,
    state: 'recording',
    segmentCount: null,
    created: false,
    startedAt: Date.now(),
    sealer: sealer.state,
    nextIndex: 0,
  });
  return sealedTrack(params.vault, recording, params.track, sealer, params.onSealed);
}

/**
 * Recordings resumed in this page. Two sealers resumed from the same state would seal different
 * pieces under the same index, that is the same AES-GCM nonce: a second resumption (a double click)
 * is refused. (Two pages never resume together: the recorder holds a Web Lock.)
 */
const resumed = new Set<string>();

/** Goes on with a recording a previous page of this browser started (after a reload or a closed tab). */
export function resumeSealedTrack(vault: Vault, stored: StoredRecording, onSealed: () => void): SealedTrack {
  if (!isResumable(stored) || resumed.has(stored.id)) throw new Error(`recording ${stored.id} cannot be resumed`);
  resumed.add(stored.id);
  return sealedTrack(vault, stored.id, stored.track, resumeRecordingSealer(stored.sealer, stored.nextIndex), onSealed);
}

function sealedTrack(vault: Vault, recording: string, track: Track, sealer: RecordingSealer, onSealed: () => void): SealedTrack {
  // Sealing and storing one segment at a time keeps indexes and vault writes in order.
  let chain: Promise<void> = Promise.resolve();
  const sealOne = async (plaintext: Uint8Array, last: boolean) => {
    const index = sealer.nextIndex;
    const digest = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', plaintext as Uint8Array<ArrayBuffer>)));
    const started = performance.now();
    const sealed = await sealer.sealNext(plaintext, last);
    const sealMs = performance.now() - started;
    // With the segment, the vault records the next index (and, for the final one, the end): a
    // page that dies before this write leaves no ciphertext anywhere, so its index may be sealed again.
    await vault.putSegment(recording, index, sealed, last);
    const detail: SealedEventDetail = { recording, track, index, last, plaintextSha256: digest, sealedSize: sealed.length, sealMs };
    document.dispatchEvent(new CustomEvent(SEALED_EVENT, { detail }));
    onSealed();
  };
  const queue = (work: () => Promise<void>) => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };

  return {
    recording,
    track,
    add: (piece) => queue(async () => {
      for (let offset = 0; offset < piece.length; offset += MAX_SEGMENT) await sealOne(piece.subarray(offset, offset + MAX_SEGMENT), false);
    }),
    finish: () => queue(() => sealOne(new Uint8Array(0), true)),
  };
}
