/**
 * How refused launches reach the audit log without letting anyone flood it (docs/LTI.md, "Refusals
 * in the audit log"). Anyone can post a made-up state to /v1/lti/launch or start a login for an
 * unregistered issuer, and each refusal would otherwise append a hash-chained entry that is kept for
 * ever. So refusals are counted per stream — one registration's, or the cell's own for refusals of
 * no known registration — in fixed windows of REFUSAL_WINDOW_MS: the first REFUSALS_PER_WINDOW of a
 * window are appended one by one (`lti.launch.rejected`), the rest only counted by code, and the
 * counts are appended as one `lti.launch.rejected.suppressed` event once the window is over (at the
 * next refusal of any stream, at the routes' sweep every REFUSAL_WINDOW_MS, or when the server stops). A flood thus costs the log at most
 * REFUSALS_PER_WINDOW + 1 entries a minute per stream, and no refusal goes uncounted; the counts of
 * a window still open when the process dies are lost, which only concerns refusals.
 */
import type { LtiErrorCode } from '../../protocol/lti.js';
import type { LtiPlatformTable } from '../db/schema.js';
import type { Cell } from '../regions/cell.types.js';

export const REFUSAL_WINDOW_MS = 60_000;
export const REFUSALS_PER_WINDOW = 20;

interface Stream {
  readonly cell: Cell;
  readonly institution: string | null;
  readonly platform: string | null;
  windowStart: number;
  appended: number;
  suppressed: Map<LtiErrorCode, number>;
}

export class RefusalAudit {
  // One stream per registration and one per cell: bounded by what admins registered.
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly clock: () => number) {}

  /** Records one refusal: appended, or counted when its stream is over its budget. */
  async record(cell: Cell, platform: LtiPlatformTable | null, code: LtiErrorCode): Promise<void> {
    const now = this.clock();
    await this.flush(now);
    const key = `${cell.region}\u0000${platform?.id ?? ''}`;
    let stream = this.streams.get(key);
    if (!stream) {
      stream = { cell, institution: platform?.institution_id ?? null, platform: platform?.id ?? null, windowStart: now, appended: 0, suppressed: new Map() };
      this.streams.set(key, stream);
    }
    if (stream.appended >= REFUSALS_PER_WINDOW) {
      stream.suppressed.set(code, (stream.suppressed.get(code) ?? 0) + 1);
      return;
    }
    stream.appended++;
    await cell.audit.append({
      institution: stream.institution,
      type: 'lti.launch.rejected',
      payload: stream.platform ? { code, platform: stream.platform } : { code },
    });
  }

  /** Appends the counts of every window that is over (all of them with `all`), and starts new ones. */
  async flush(now: number, all = false): Promise<void> {
    for (const [key, stream] of this.streams) {
      if (!all && now - stream.windowStart < REFUSAL_WINDOW_MS) continue;
      this.streams.delete(key);
      if (stream.suppressed.size === 0) continue;
      const counts = Object.fromEntries([...stream.suppressed].sort(([a], [b]) => a.localeCompare(b)));
      await stream.cell.audit.append({
        institution: stream.institution,
        type: 'lti.launch.rejected.suppressed',
        payload: { ...(stream.platform ? { platform: stream.platform } : {}), from: stream.windowStart, to: Math.min(now, stream.windowStart + REFUSAL_WINDOW_MS), counts },
      });
    }
  }
}
