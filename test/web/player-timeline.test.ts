/**
 * The reviewer's timeline (src/web/reviewer/player-timeline.ts): pieces found from segment sizes
 * alone, recordings of an interrupted attempt laid end to end in creation order, and the piece for
 * any time found without looking at any other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TAG_LENGTH } from '../../src/crypto/index.js';
import { DEFAULT_SNAPSHOT_INTERVAL_SECONDS, PIECE_SECONDS } from '../../src/protocol/recording-timing.js';
import { type TimelineRecording, buildTimeline, nextPiece, pieceAt, piecesOf } from '../../src/web/reviewer/player-timeline.js';

const MAX = 1000;
/** Segments of the given plaintext sizes, then the empty final one. */
const segs = (sizes: readonly number[], final = true) =>
  [...sizes, ...(final ? [0] : [])].map((n, index) => ({ index, size: n + TAG_LENGTH }));
const rec = (recording: string, track: TimelineRecording['track'], createdAt: number, sizes: readonly number[], final = true): TimelineRecording =>
  ({ recording, track, createdAt, maxSegment: MAX, segments: segs(sizes, final) });

describe('the reviewer timeline', () => {
  it('a full segment continues into the next; a shorter one ends the piece; the empty final one is no piece', () => {
    assert.deepEqual(piecesOf(rec('r', 'camera', 0, [500, MAX, MAX, 3, 900, MAX, 1])), [[0], [1, 2, 3], [4], [5, 6]]);
    assert.deepEqual(piecesOf(rec('r', 'camera', 0, [500, MAX], false)), [[0], [1]], 'cut off mid-piece: what arrived still plays');
    assert.deepEqual(piecesOf(rec('r', 'camera', 0, [], true)), []);
  });

  it('an interrupted attempt plays its recordings in creation order, each part after the longest track of the one before', () => {
    const t = buildTimeline([
      rec('cam-2', 'camera', 200, [10, 10]),
      rec('cam-1', 'camera', 100, [10, 10, 10]),
      rec('scr-1', 'screen', 101, [10, 10, 10, 10]),
      rec('scr-2', 'screen', 201, [10]),
      rec('snap-1', 'snapshot', 102, [10]),
      rec('mic-1', 'microphone', 103, [10, 10, 10]),
    ], 10);
    const part1 = 4 * PIECE_SECONDS;
    assert.equal(t.duration, part1 + 2 * PIECE_SECONDS);
    assert.deepEqual(t.pieces.get('camera')?.map((p) => [p.recording, p.number, p.start]), [
      ['cam-1', 0, 0], ['cam-1', 1, 4], ['cam-1', 2, 8], ['cam-2', 0, part1], ['cam-2', 1, part1 + 4],
    ]);
    assert.deepEqual(t.pieces.get('snapshot')?.map((p) => p.start), [10]);
    assert.equal(pieceAt(t, 'camera', 13), null, 'the camera part ended before the screen part: nothing there');
    assert.equal(pieceAt(t, 'screen', 13)?.piece.number, 3);
    const at = pieceAt(t, 'camera', part1 + 5.5);
    assert.equal(at?.piece.recording, 'cam-2');
    assert.equal(at?.offset, 1.5);
    assert.equal(nextPiece(t, (t.pieces.get('camera') ?? [])[2] as never)?.recording, 'cam-2');
  });

  it("snapshots sit at the exam's interval, and a part with snapshots lasts at least until its last one", () => {
    const t = buildTimeline([
      rec('cam-1', 'camera', 100, [10, 10]),
      rec('snap-1', 'snapshot', 101, [10, 10, 10]),
      rec('cam-2', 'camera', 200, [10]),
      rec('snap-2', 'snapshot', 201, [10]),
    ], 25);
    assert.deepEqual(t.pieces.get('snapshot')?.map((p) => [p.recording, p.start]), [['snap-1', 25], ['snap-1', 50], ['snap-1', 75], ['snap-2', 100]]);
    assert.deepEqual(t.pieces.get('camera')?.map((p) => p.start), [0, 4, 75]);
    assert.equal(t.duration, 100);
    const atDefault = buildTimeline([rec('snap', 'snapshot', 0, [10, 10])], DEFAULT_SNAPSHOT_INTERVAL_SECONDS);
    assert.deepEqual(atDefault.pieces.get('snapshot')?.map((p) => p.start), [DEFAULT_SNAPSHOT_INTERVAL_SECONDS, 2 * DEFAULT_SNAPSHOT_INTERVAL_SECONDS]);
  });

  it('any time maps to the one piece that covers it (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2000 }), fc.double({ min: 0, max: 1, noNaN: true }), (count, f) => {
      const t = buildTimeline([rec('cam', 'camera', 0, Array.from({ length: count }, () => 7))], DEFAULT_SNAPSHOT_INTERVAL_SECONDS);
      const time = f * t.duration;
      const at = pieceAt(t, 'camera', time);
      if (time >= t.duration) return at === null;
      return at !== null && at.piece.number === Math.floor(time / PIECE_SECONDS) && at.offset >= 0 && at.offset < PIECE_SECONDS;
    }));
  });
});
