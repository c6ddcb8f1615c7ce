/**
 * How long each sealed piece of a recording lasts, which is what lets a reviewer's player find the
 * piece for a time without reading any other (docs/WEB.md "The reviewer"). The recorder restarts
 * MediaRecorder every PIECE_SECONDS, so piece i of a camera, microphone or screen recording is a
 * standalone WebM covering about [i × PIECE_SECONDS, (i + 1) × PIECE_SECONDS) from the recording's
 * start; a piece larger than the header's segment limit fills whole segments and ends in a shorter
 * one. Snapshot j is a JPEG taken (j + 1) × SNAPSHOT_SECONDS after the start (the first one comes
 * after one interval, not at once).
 *
 * The recorder (src/web/recorder/main.ts) records with these same constants, so the player and the
 * recorder cannot disagree.
 */

/** Seconds of media in each camera, microphone and screen piece. */
export const PIECE_SECONDS = 4;

/** Seconds between two snapshots; the first is taken one interval after the recording starts. */
export const SNAPSHOT_SECONDS = 10;

/** Where piece `i` starts, in seconds from its recording's start. */
export const pieceStart = (i: number): number => i * PIECE_SECONDS;

/** When snapshot `j` was taken, in seconds from its recording's start. */
export const snapshotTime = (j: number): number => (j + 1) * SNAPSHOT_SECONDS;
