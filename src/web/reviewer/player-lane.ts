/**
 * One media element following the attempt's timeline: the camera video, the screen video or the
 * microphone audio. `show(t)` puts the piece playing at `t` into the element, at the right offset,
 * and fetches the next piece ahead so that playing on does not wait for the network. Where the track
 * has nothing at `t` (it ended sooner, or a recording is missing), the element is emptied and a note
 * says so.
 *
 * Each call supersedes the ones before it: a reviewer dragging the timeline starts many, and only the
 * last may touch the element once its piece arrives.
 */
import type { Track } from '../../crypto/index.js';
import type { PieceSource } from './player-source.js';
import { type Piece, type Timeline, nextPiece, pieceAt } from './player-timeline.js';

/** How long a seek in a loaded piece may take before the lane stops waiting for it. */
const SEEK_WAIT_MS = 5000;

function once(target: EventTarget, events: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const e of events) target.removeEventListener(e, done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    for (const e of events) target.addEventListener(e, done);
  });
}

export class Lane {
  /** The piece in the element, or null when it is empty. */
  current: Piece | null = null;
  private generation = 0;

  constructor(
    readonly track: Track,
    readonly element: HTMLMediaElement,
    private readonly timeline: Timeline,
    private readonly source: PieceSource,
    /** Shown while the track has nothing at the current time. */
    private readonly absent: HTMLElement,
  ) {}

  /** Resolves once the element shows `t` (or is empty); false if a later call took over. */
  async show(t: number): Promise<boolean> {
    const mine = ++this.generation;
    const at = pieceAt(this.timeline, this.track, t);
    if (!at) {
      this.empty();
      return true;
    }
    const url = await this.source.url(at.piece);
    if (mine !== this.generation) return false;
    this.absent.hidden = true;
    if (this.current !== at.piece) {
      this.current = at.piece;
      this.element.dataset['piece'] = `${at.piece.recording}#${at.piece.number}`;
      this.element.src = url;
      await once(this.element, ['loadedmetadata', 'error'], SEEK_WAIT_MS);
      if (mine !== this.generation) return false;
    }
    if (Math.abs(this.element.currentTime - at.offset) > 0.05 || this.element.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
      const seeked = once(this.element, ['seeked', 'error'], SEEK_WAIT_MS);
      this.element.currentTime = at.offset;
      await seeked;
    }
    const next = nextPiece(this.timeline, at.piece);
    if (next) void this.source.url(next).catch(() => undefined);
    return mine === this.generation;
  }

  /** Moves the element to `offset` within its piece if it has drifted from the timeline. */
  follow(offset: number, playing: boolean): void {
    const e = this.element;
    if (e.seeking || e.readyState < HTMLMediaElement.HAVE_METADATA) return;
    if (Math.abs(e.currentTime - offset) > 0.35) e.currentTime = offset;
    if (playing && e.paused && !e.ended) void e.play().catch(() => undefined);
  }

  private empty(): void {
    if (this.current === null && !this.absent.hidden) return;
    this.current = null;
    this.element.pause();
    this.element.removeAttribute('src');
    delete this.element.dataset['piece'];
    this.element.load();
    this.absent.hidden = false;
  }
}
