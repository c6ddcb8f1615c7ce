/**
 * Admission control for segment uploads. Every segment body in flight is held in memory (received,
 * hashed, sealed, written) until it is acknowledged; when uploads arrive faster than the disk takes
 * them, holding them all would grow the process without bound. So the bytes of the bodies being
 * handled are counted (by Content-Length, before the body is read), and past a limit a request is
 * answered at once with 503 and `Retry-After`: the recorder keeps the segment and sends it again, and
 * overload shows as slower uploads, never as a server out of memory.
 */
export class Admission {
  private held = 0;
  /** Requests turned away so far. */
  refused = 0;

  constructor(readonly maxBytes: number) {}

  /** Reserves `bytes`; false when that would pass the limit. One request always fits into an empty server. */
  tryEnter(bytes: number): boolean {
    if (this.held > 0 && this.held + bytes > this.maxBytes) {
      this.refused++;
      return false;
    }
    this.held += bytes;
    return true;
  }

  leave(bytes: number): void {
    this.held -= bytes;
  }

  get heldBytes(): number {
    return this.held;
  }
}
