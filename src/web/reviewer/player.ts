/**
 * The attempt player: camera and screen side by side and the microphone with them, on one timeline
 * (player-timeline.ts), one range control (keyboard: arrows, Page Up/Down, Home, End) and a
 * play/pause button, with the snapshots in a strip below (activating one seeks there).
 *
 * The timeline's clock is the page's own: while playing, the position is the wall-clock time since
 * the last start, and each element is kept within a third of a second of it (player-lane.ts). A seek
 * pauses the clock until every lane shows its frame at the new time, so the video and the audio start
 * together. At a piece's end the lane swaps in the next piece, already fetched ahead.
 *
 * Snapshots are opened only when their thumbnail scrolls into view.
 */
import type { Track } from '../../crypto/index.js';
import { el } from '../shared/dom.js';
import { Lane } from './player-lane.js';
import type { PieceSource } from './player-source.js';
import { type Piece, type Timeline, pieceAt } from './player-timeline.js';

export interface PlayerView {
  readonly root: HTMLElement;
  /** Seeks to `t` seconds; resolves when every lane shows it (false if a later seek took over). */
  seek(t: number): Promise<boolean>;
  play(): void;
  pause(): void;
  /** The timeline position, in seconds. */
  position(): number;
  close(): void;
}

/** `1:02:03` or `2:03`. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const MEDIA_TRACKS: readonly { track: Track; label: string; kind: 'video' | 'audio' }[] = [
  { track: 'camera', label: 'Camera', kind: 'video' },
  { track: 'screen', label: 'Screen', kind: 'video' },
  { track: 'microphone', label: 'Microphone', kind: 'audio' },
];

export function createPlayer(timeline: Timeline, source: PieceSource): PlayerView {
  const lanes: Lane[] = [];
  const figures: HTMLElement[] = [];
  for (const { track, label, kind } of MEDIA_TRACKS) {
    if (!(timeline.pieces.get(track)?.length)) continue;
    const element = kind === 'video'
      ? el('video', { id: `player-${track}`, muted: true, playsinline: true, preload: 'auto' })
      : el('audio', { id: `player-${track}`, preload: 'auto' });
    const absent = el('p', { class: 'hint' }, `No ${label.toLowerCase()} recorded at this time.`);
    absent.hidden = true;
    lanes.push(new Lane(track, element, timeline, source, absent));
    figures.push(kind === 'video'
      ? el('figure', {}, element, el('figcaption', {}, label), absent)
      : el('div', { class: 'audio-lane' }, element, absent));
  }

  let position = 0;
  let playing = false;
  let anchor = { position: 0, at: 0 };
  let seeking = 0;
  let timer: ReturnType<typeof setInterval> | null = null;

  const range = el('input', {
    type: 'range', id: 'player-time', min: '0', max: String(Math.max(1, Math.ceil(timeline.duration))), step: '1', value: '0',
  });
  const timeLabel = el('output', { for: 'player-time', id: 'player-clock' }, `0:00 / ${clock(timeline.duration)}`);
  const playButton = el('button', { type: 'button', id: 'player-play' }, 'Play');
  const showPosition = () => {
    const text = `${clock(position)} / ${clock(timeline.duration)}`;
    timeLabel.textContent = text;
    range.value = String(Math.floor(position));
    range.setAttribute('aria-valuetext', `${clock(position)} of ${clock(timeline.duration)}`);
  };

  const snapshots = timeline.pieces.get('snapshot') ?? [];
  const strip = el('ol', { class: 'snapshots', 'aria-label': 'Snapshots' });
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      const img = entry.target as HTMLImageElement;
      observer.unobserve(img);
      const piece = snapshots[Number(img.dataset['snapshot'])] as Piece;
      void source.url(piece).then((url) => { img.src = url; }, () => { img.alt = `Snapshot at ${clock(piece.start)} (could not be opened)`; });
    }
  }, { root: strip });
  snapshots.forEach((piece, i) => {
    const img = el('img', { alt: '', width: '160', height: '90', 'data-snapshot': String(i) });
    const go = el('button', { type: 'button', class: 'snapshot', 'aria-label': `Snapshot at ${clock(piece.start)}: go there` }, img, el('span', { 'aria-hidden': 'true' }, clock(piece.start)));
    go.addEventListener('click', () => void seek(piece.start));
    strip.append(el('li', {}, go));
    observer.observe(img);
  });

  const startClock = () => {
    anchor = { position, at: performance.now() };
    for (const lane of lanes) if (lane.current) void lane.element.play().catch(() => undefined);
  };

  async function seek(t: number): Promise<boolean> {
    const mine = ++seeking;
    position = Math.min(Math.max(0, t), timeline.duration);
    showPosition();
    for (const lane of lanes) lane.element.pause();
    const shown = await Promise.all(lanes.map((lane) => lane.show(position)));
    if (mine !== seeking) return false;
    if (playing) startClock();
    return shown.every(Boolean);
  }

  const switching = new Set<Lane>();
  const tick = () => {
    if (!playing || switching.size > 0) return;
    position = anchor.position + (performance.now() - anchor.at) / 1000;
    if (position >= timeline.duration) {
      position = timeline.duration;
      pause();
      showPosition();
      return;
    }
    for (const lane of lanes) {
      const at = pieceAt(timeline, lane.track, position);
      if ((at?.piece ?? null) === lane.current) {
        if (at) lane.follow(at.offset, true);
        continue;
      }
      // The lane's piece ended: hold the clock while the next one (fetched ahead) is put in.
      switching.add(lane);
      const from = position;
      void lane.show(from).finally(() => {
        switching.delete(lane);
        if (switching.size === 0 && playing) {
          position = from;
          startClock();
        }
      });
    }
    showPosition();
  };

  function play(): void {
    if (playing) return;
    if (position >= timeline.duration) position = 0;
    playing = true;
    playButton.textContent = 'Pause';
    void seek(position);
    timer ??= setInterval(tick, 100);
  }

  function pause(): void {
    playing = false;
    playButton.textContent = 'Play';
    for (const lane of lanes) lane.element.pause();
    if (timer) clearInterval(timer);
    timer = null;
  }

  playButton.addEventListener('click', () => (playing ? pause() : play()));
  // `change` comes once per keyboard step and once when a drag ends: one seek each, not one per pixel.
  range.addEventListener('input', () => { timeLabel.textContent = `${clock(Number(range.value))} / ${clock(timeline.duration)}`; });
  range.addEventListener('change', () => void seek(Number(range.value)));

  const root = el('section', { class: 'player', 'aria-label': 'Recording player' },
    el('div', { class: 'previews' }, ...figures),
    el('div', { class: 'player-controls' },
      playButton,
      el('label', { for: 'player-time', class: 'visually-hidden' }, 'Position in the attempt'),
      range,
      timeLabel,
    ),
    snapshots.length > 0 ? el('h2', {}, 'Snapshots') : null,
    snapshots.length > 0 ? strip : null,
  );
  void seek(0);

  return {
    root,
    seek,
    play,
    pause,
    position: () => position,
    close() {
      pause();
      observer.disconnect();
      source.close();
    },
  };
}
