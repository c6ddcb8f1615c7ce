/**
 * Turning live media into pieces that each stand alone (DESIGN "Recording pipeline"). MediaRecorder's
 * timeslice chunks split clusters mid-stream and cannot be played without everything before them, so
 * the recorder is restarted every few seconds instead: each piece is a complete WebM file beginning
 * with its own header and a keyframe, so a reviewer can decrypt and play any piece alone. The next
 * recorder starts before the current one stops, so the pieces overlap by a frame rather than leave
 * a gap.
 *
 * Still snapshots are JPEG images drawn from the camera preview at the exam's interval.
 */

export type PieceSink = (piece: Uint8Array) => Promise<void>;

export interface Capture {
  /** Stops capturing; resolves once the last piece has been handed to the sink. */
  stop(): Promise<void>;
}

/** The first type this browser records, or '' to let it choose. */
export function pickMimeType(candidates: readonly string[]): string {
  return candidates.find((t) => MediaRecorder.isTypeSupported(t)) ?? '';
}

/**
 * Records `stream` in pieces of `pieceMs`. Pieces reach `sink` one at a time, in the order they were
 * recorded, whatever order the recorders finish in.
 */
export function recordInPieces(stream: MediaStream, mimeType: string, pieceMs: number, bitsPerSecond: number, sink: PieceSink, onError: (e: unknown) => void): Capture {
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;

  const startOne = () => {
    const recorder = new MediaRecorder(stream, { mimeType, bitsPerSecond });
    const parts: Blob[] = [];
    recorder.ondataavailable = (e) => {
      if (e.data.size > 0) parts.push(e.data);
    };
    const finished = new Promise<Uint8Array>((resolve) => {
      recorder.onstop = () => {
        void new Blob(parts).arrayBuffer().then((b) => resolve(new Uint8Array(b)));
      };
    });
    recorder.start();
    return { recorder, finished };
  };

  const hand = (piece: Promise<Uint8Array>) => {
    chain = chain.then(async () => {
      const bytes = await piece;
      if (bytes.length > 0) await sink(bytes);
    }).catch(onError);
  };

  let current = startOne();
  const timer = setInterval(() => {
    if (stopped) return;
    const next = startOne();
    current.recorder.stop();
    hand(current.finished);
    current = next;
  }, pieceMs);

  return {
    async stop() {
      if (stopped) return chain;
      stopped = true;
      clearInterval(timer);
      if (current.recorder.state !== 'inactive') current.recorder.stop();
      hand(current.finished);
      await chain;
    },
  };
}

/** Takes a JPEG of the video element's current frame every `intervalMs`. */
export function takeSnapshots(video: HTMLVideoElement, intervalMs: number, sink: PieceSink, onError: (e: unknown) => void): Capture {
  const canvas = document.createElement('canvas');
  let chain: Promise<void> = Promise.resolve();
  const shoot = () => {
    if (video.videoWidth === 0) return;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d')?.drawImage(video, 0, 0);
    const blob = new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
    chain = chain.then(async () => {
      const b = await blob;
      if (b) await sink(new Uint8Array(await b.arrayBuffer()));
    }).catch(onError);
  };
  const timer = setInterval(shoot, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await chain;
    },
  };
}
