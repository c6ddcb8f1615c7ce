/**
 * How long each sealed piece of a recording lasts, which is what lets a reviewer's player find the
 * piece for a time without reading any other (docs/WEB.md "The reviewer"). The recorder restarts
 * MediaRecorder every PIECE_SECONDS, so piece i of a camera, microphone or screen recording is a
 * standalone WebM covering about [i × PIECE_SECONDS, (i + 1) × PIECE_SECONDS) from the recording's
 * start; a piece larger than the header's segment limit fills whole segments and ends in a shorter
 * one. Snapshot j is a JPEG taken (j + 1) × interval after the start (the first one comes after one
 * interval, not at once), the interval being the exam's snapshotIntervalSeconds (docs/EXAMS.md).
 *
 * The recorder (src/web/recorder/main.ts) records with these same definitions and the interval its
 * attempt info names, and the player takes the interval from the same exam, so they cannot disagree.
 */

/** Seconds of media in each camera, microphone and screen piece. */
export const PIECE_SECONDS = 4;

/** Seconds between two snapshots when the exam sets none (the exam's own default). */
export { DEFAULT_SNAPSHOT_INTERVAL_SECONDS } from './exams.js';

/** Where piece `i` starts, in seconds from its recording's start. */
export const pieceStart = (i: number): number => i * PIECE_SECONDS;

/** When snapshot `j` was taken, in seconds from its recording's start, snapshots being `interval` seconds apart. */
export const snapshotTime = (j: number, interval: number): number => (j + 1) * interval;
