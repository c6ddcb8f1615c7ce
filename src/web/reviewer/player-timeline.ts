/**
 * One timeline for an attempt, built from what the server lists and what unlocking a recording
 * answers (segment indexes and sizes), without reading a byte of media: which sealed segments hold
 * each piece, and where each piece sits on the attempt's timeline (src/protocol/recording-timing.ts).
 *
 * An attempt that was interrupted and continued has several recordings per track. They are played
 * in the order the server created them: the k-th recording of every track forms the k-th part, and
 * each part starts where the longest track of the part before it ended. No wall-clock time of the
 * recorder is used: the server only learns when a header arrived, which an outage can delay.
 *
 * Snapshots are placed by the exam's snapshot interval (GET /v1/exams/:exam), the one the recorder
 * was told with its attempt info.
 *
 * Pieces: a segment whose plaintext fills the header's segment limit is continued by the next one; a
 * shorter segment ends its piece; the empty final segment holds no piece.
 */
import { TAG_LENGTH, type Track } from '../../crypto/index.js';
import { PIECE_SECONDS, pieceStart, snapshotTime } from '../../protocol/recording-timing.js';

export interface TimelineRecording {
  readonly recording: string;
  readonly track: Track;
  readonly createdAt: number;
  /** The header's segment limit (plaintext bytes). */
  readonly maxSegment: number;
  readonly segments: readonly { readonly index: number; readonly size: number }[];
}

export interface Piece {
  readonly track: Track;
  readonly recording: string;
  /** The piece's number within its recording. */
  readonly number: number;
  /** The segments holding it, in order. */
  readonly segments: readonly number[];
  /** Seconds on the attempt's timeline: a video or audio piece lasts PIECE_SECONDS; a snapshot is a moment. */
  readonly start: number;
}

export interface Timeline {
  /** Seconds from the attempt's first piece to the end of its last. */
  readonly duration: number;
  /** Per track, in timeline order. */
  readonly pieces: ReadonlyMap<Track, readonly Piece[]>;
}

/** The segment runs that make up a recording's pieces. */
export function piecesOf(r: Pick<TimelineRecording, 'maxSegment' | 'segments'>): number[][] {
  const runs: number[][] = [];
  let run: number[] = [];
  for (const s of [...r.segments].sort((a, b) => a.index - b.index)) {
    const plaintext = s.size - TAG_LENGTH;
    if (plaintext <= 0) continue;
    run.push(s.index);
    if (plaintext < r.maxSegment) {
      runs.push(run);
      run = [];
    }
  }
  // A recording cut off in the middle of a split piece still shows what arrived of it.
  if (run.length > 0) runs.push(run);
  return runs;
}

/** `snapshotSeconds`: the exam's snapshotIntervalSeconds. */
export function buildTimeline(recordings: readonly TimelineRecording[], snapshotSeconds: number): Timeline {
  const partLength = (track: Track, pieces: number): number => pieces * (track === 'snapshot' ? snapshotSeconds : PIECE_SECONDS);
  const byTrack = new Map<Track, TimelineRecording[]>();
  for (const r of recordings) byTrack.set(r.track, [...(byTrack.get(r.track) ?? []), r]);
  for (const list of byTrack.values()) list.sort((a, b) => a.createdAt - b.createdAt || a.recording.localeCompare(b.recording));
  const parts = Math.max(0, ...[...byTrack.values()].map((l) => l.length));

  const pieces = new Map<Track, Piece[]>([...byTrack.keys()].map((t) => [t, []]));
  let partStart = 0;
  for (let k = 0; k < parts; k++) {
    let length = 0;
    for (const [track, list] of byTrack) {
      const r = list[k];
      if (!r) continue;
      const runs = piecesOf(r);
      const out = pieces.get(track) as Piece[];
      runs.forEach((segments, number) => {
        const at = track === 'snapshot' ? snapshotTime(number, snapshotSeconds) : pieceStart(number);
        out.push({ track, recording: r.recording, number, segments, start: partStart + at });
      });
      length = Math.max(length, partLength(track, runs.length));
    }
    partStart += length;
  }
  return { duration: partStart, pieces };
}

/** The video or audio piece playing at `t`, and how far into it `t` is; null where the track has nothing. */
export function pieceAt(timeline: Timeline, track: Track, t: number): { piece: Piece; offset: number } | null {
  const list = timeline.pieces.get(track) ?? [];
  // Binary search for the last piece starting at or before t.
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] as Piece).start <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const piece = list[found];
  if (!piece || t >= piece.start + PIECE_SECONDS) return null;
  return { piece, offset: t - piece.start };
}

/** The piece after `piece` on its track: what to fetch ahead while `piece` plays. */
export function nextPiece(timeline: Timeline, piece: Piece): Piece | null {
  const list = timeline.pieces.get(piece.track) ?? [];
  const i = list.indexOf(piece);
  return list[i + 1] ?? null;
}
