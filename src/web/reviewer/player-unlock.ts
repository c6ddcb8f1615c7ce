/**
 * Unlocking an attempt for the player: each recording's audited unlock
 * (POST /v1/custody/recordings/{institution}/{recording}/unlock, docs/CUSTODY-SERVER.md) answers its
 * sealed header and its segment list; the header's data key opens with the epoch private key of the
 * recording's epoch. What comes back is enough to build the timeline and to open any single segment;
 * no segment is fetched here.
 *
 * The sealed header, not the listing, says which track a recording is and which attempt it belongs
 * to (its context is bound into every segment's associated data), so a server that lists another
 * attempt's recording under this one is caught here.
 */
import { type Track, decodeHeader, fromBase64Url, openRecording } from '../../crypto/index.js';
import type { RecordingListItem, UnlockResponse } from '../../protocol/custody.js';
import type { OpenedRecording } from './player-source.js';
import { type Timeline, type TimelineRecording, buildTimeline } from './player-timeline.js';

export interface UnlockedAttempt {
  readonly timeline: Timeline;
  readonly recordings: ReadonlyMap<string, OpenedRecording>;
  /** Recordings that could not be opened, with the reason shown to the reviewer. */
  readonly unopened: readonly { readonly recording: string; readonly reason: string }[];
}

export interface UnlockParams {
  readonly institution: string;
  readonly attempt: string;
  readonly listed: readonly RecordingListItem[];
  /** The exam's snapshotIntervalSeconds: where the attempt's snapshots sit on its timeline. */
  readonly snapshotSeconds: number;
  /** The epoch private key for an epoch, or null when this reviewer holds none for it. */
  epochKey(epoch: number): CryptoKey | null;
  /** POST …/unlock for one recording. */
  unlock(recording: string): Promise<UnlockResponse>;
}

/** How many unlocks run at once: enough to hide the round trips, few enough not to crowd the server. */
const PARALLEL = 4;

export async function unlockAttempt(p: UnlockParams): Promise<UnlockedAttempt> {
  const recordings = new Map<string, OpenedRecording>();
  const timelineInput: TimelineRecording[] = [];
  const unopened: { recording: string; reason: string }[] = [];
  const queue = [...p.listed];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const key = p.epochKey(item.epoch);
      if (!key) {
        unopened.push({ recording: item.recording, reason: `sealed to epoch ${item.epoch}, for which you hold no key` });
        continue;
      }
      const answer = await p.unlock(item.recording);
      const headerBytes = fromBase64Url(answer.header);
      if (!headerBytes) throw new Error(`the server sent a header for ${item.recording} that is not base64url`);
      const header = decodeHeader(headerBytes);
      const context = header.context;
      if (context.institution !== p.institution || context.attempt !== p.attempt || context.recording !== item.recording) {
        unopened.push({ recording: item.recording, reason: 'its sealed header names another attempt or recording' });
        continue;
      }
      const opener = await openRecording(header, key);
      recordings.set(item.recording, { opener, mediaType: context.mediaType });
      timelineInput.push({
        recording: item.recording,
        track: context.track as Track,
        createdAt: item.createdAt,
        maxSegment: header.maxSegment,
        segments: answer.segments,
      });
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return { timeline: buildTimeline(timelineInput, p.snapshotSeconds), recordings, unopened };
}
