/**
 * Pieces as playable `blob:` URLs, made on demand: a piece's sealed segments are fetched
 * (GET /v1/custody/recordings/{institution}/{recording}/segments/{n}), each opened with its
 * recording's random-access opener (only its own index and key are needed, SPEC §6), and joined into
 * one standalone WebM or JPEG. Nothing else of the recording is read: that is what lets a seek in a
 * two-hour recording start after one piece.
 *
 * A few recent pieces stay cached (the one playing, the one fetched ahead, the one seeked away from);
 * an evicted piece's URL is revoked so its plaintext can be freed. `fetched` lists every segment
 * request made.
 *
 * Every opened segment is announced as a DOM event, `examvault:opened`, with its recording, index and
 * the SHA-256 of its plaintext: the counterpart of the recorder's `examvault:sealed`, which is what
 * the end-to-end test compares them with (the page's CSP keeps a test from reading a blob: URL back).
 */
import { type RecordingOpener, toHex } from '../../crypto/index.js';
import type { Piece } from './player-timeline.js';

export interface OpenedRecording {
  readonly opener: RecordingOpener;
  /** The media type sealed in the header (`video/webm;codecs=vp8`, `image/jpeg`). */
  readonly mediaType: string;
}

export const OPENED_EVENT = 'examvault:opened';

export interface OpenedEventDetail {
  readonly recording: string;
  readonly index: number;
  readonly plaintextSha256: string;
}

/** GETs one sealed segment's bytes. */
export type SegmentFetch = (recording: string, index: number) => Promise<Uint8Array>;

export class PieceSource {
  /** Every segment fetched, in order: `${recording}/${index}`. */
  readonly fetched: string[] = [];
  private readonly cache = new Map<string, Promise<string>>();

  constructor(
    private readonly recordings: ReadonlyMap<string, OpenedRecording>,
    private readonly fetchSegment: SegmentFetch,
    private readonly keep = 12,
  ) {}

  /** The piece's `blob:` URL; its segments are fetched and opened on the first call only. */
  url(piece: Piece): Promise<string> {
    const key = `${piece.recording}#${piece.number}`;
    const hit = this.cache.get(key);
    if (hit) {
      // Most recently used last.
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const made = this.make(piece);
    // A failed fetch is not kept: the next attempt asks again.
    made.catch(() => this.cache.delete(key));
    this.cache.set(key, made);
    this.evict();
    return made;
  }

  private async make(piece: Piece): Promise<string> {
    const r = this.recordings.get(piece.recording);
    if (!r) throw new Error(`recording ${piece.recording} is not unlocked`);
    const parts: Uint8Array[] = [];
    for (const index of piece.segments) {
      this.fetched.push(`${piece.recording}/${index}`);
      const sealed = await this.fetchSegment(piece.recording, index);
      const { plaintext } = await r.opener.openSegment(index, sealed);
      parts.push(plaintext);
      const digest = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', plaintext as Uint8Array<ArrayBuffer>)));
      const detail: OpenedEventDetail = { recording: piece.recording, index, plaintextSha256: digest };
      document.dispatchEvent(new CustomEvent(OPENED_EVENT, { detail }));
    }
    return URL.createObjectURL(new Blob(parts as Uint8Array<ArrayBuffer>[], { type: r.mediaType }));
  }

  private evict(): void {
    while (this.cache.size > this.keep) {
      const [oldest, url] = this.cache.entries().next().value as [string, Promise<string>];
      this.cache.delete(oldest);
      void url.then((u) => URL.revokeObjectURL(u), () => undefined);
    }
  }

  /** Revokes every URL (when the player closes). */
  close(): void {
    for (const url of this.cache.values()) void url.then((u) => URL.revokeObjectURL(u), () => undefined);
    this.cache.clear();
  }
}
