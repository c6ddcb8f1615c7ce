/**
 * A recording's context: which institution, region, exam, attempt, recording and track its bytes belong
 * to. The context is authenticated into every segment and into the wrapped data key (docs/SPEC.md §5),
 * so it holds opaque identifiers only, never personal data.
 */
import { ExamVaultCryptoError } from './errors.js';

export const tracks = ['camera', 'microphone', 'screen', 'snapshot'] as const;
export type Track = (typeof tracks)[number];

export interface RecordingContext {
  readonly institution: string;
  readonly region: string;
  readonly exam: string;
  readonly attempt: string;
  readonly recording: string;
  readonly track: Track;
  /** The media type of the plaintext, e.g. `video/webm;codecs=vp9`; empty when unknown. */
  readonly mediaType: string;
}

export const idPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const regionPattern = /^[a-z][a-z0-9-]{1,15}$/;
export const mediaTypePattern = /^[\x20-\x7e]{0,127}$/;

export function trackCode(track: Track): number {
  return tracks.indexOf(track) + 1;
}

export function trackFromCode(code: number): Track | undefined {
  return tracks[code - 1];
}

/** Returns the first rule the context breaks, or null when it is valid. */
export function contextProblem(ctx: RecordingContext): string | null {
  for (const field of ['institution', 'exam', 'attempt', 'recording'] as const) {
    if (typeof ctx[field] !== 'string' || !idPattern.test(ctx[field])) {
      return `${field} must be 1-64 characters of [A-Za-z0-9._:-], starting with a letter or digit`;
    }
  }
  if (typeof ctx.region !== 'string' || !regionPattern.test(ctx.region)) {
    return 'region must be 2-16 characters of [a-z0-9-], starting with a letter';
  }
  if (!tracks.includes(ctx.track)) return `track must be one of ${tracks.join(', ')}`;
  if (typeof ctx.mediaType !== 'string' || !mediaTypePattern.test(ctx.mediaType)) {
    return 'mediaType must be at most 127 printable ASCII characters';
  }
  return null;
}

export function assertContext(ctx: RecordingContext): void {
  const problem = contextProblem(ctx);
  if (problem) throw new ExamVaultCryptoError('EV_ERR_CRYPTO_INVALID_CONTEXT', problem);
}
