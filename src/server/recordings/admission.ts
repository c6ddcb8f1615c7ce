/**
 * Admission control for segment uploads. Every segment body in flight is held in memory (received,
 * hashed, sealed, written) until it is acknowledged; when uploads arrive faster than the disk takes
 * them, holding them all would grow the process without bound. So the bytes of the bodies being
 * handled are counted (by Content-Length, before the body is read), and past a limit a request waits
 * its turn, first come first served, with its body unread.
 *
 * Waiting costs the server next to nothing, where a refusal costs the whole body: the client has sent
 * it already, so it is received, decrypted and thrown away, and then sent and decrypted again. An
 * unread body is not received at all: Node stops reading a socket once the request on it has a few
 * kilobytes buffered, and TCP flow control holds the rest in the client. So overload shows as slower
 * acknowledgements, at the rate the server can take, instead of as refusals that eat that rate.
 * Only a request that has waited `maxWaitMs` in vain, or finds `maxWaiting` requests waiting already,
 * is refused (503 with `Retry-After`).
 */
export class Admission {
  private held = 0;
  /** Waiting tickets, oldest first, from `head` on; withdrawn ones stay until they reach the head. */
  private queue: AdmissionTicket[] = [];
  private head = 0;
  private waitingNow = 0;
  /** Requests turned away so far. */
  refused = 0;
  /** Requests that had to wait for their turn so far (admitted or not). */
  waited = 0;

  constructor(
    readonly maxBytes: number,
    readonly maxWaitMs: number,
    readonly maxWaiting: number,
  ) {}

  /** A ticket for `bytes`: admitted at once when nobody waits and they fit (one request always fits into an empty server). */
  enter(bytes: number): AdmissionTicket {
    const ticket = new AdmissionTicket(this, bytes);
    if (this.waitingNow === 0 && this.fits(bytes)) ticket.admit();
    else if (this.waitingNow >= this.maxWaiting || this.maxWaitMs <= 0) this.refuse(ticket);
    else {
      this.waited++;
      this.waitingNow++;
      this.queue.push(ticket);
      ticket.wait(this.maxWaitMs);
    }
    return ticket;
  }

  get heldBytes(): number {
    return this.held;
  }

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.waitingNow;
  }

  /** @internal the ticket's bytes are now held */
  take(bytes: number): void {
    this.held += bytes;
  }

  /** @internal a held ticket is done */
  leave(bytes: number): void {
    this.held -= bytes;
    this.pump();
  }

  /** @internal a waiting ticket gave up: timed out or its request went away */
  withdraw(ticket: AdmissionTicket, timedOut: boolean): void {
    this.waitingNow--;
    if (timedOut) this.refused++;
    if (this.queue[this.head] === ticket) this.pump();
  }

  private refuse(ticket: AdmissionTicket): void {
    this.refused++;
    ticket.refuse();
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.maxBytes;
  }

  /** Admits waiting tickets from the head while they fit. */
  private pump(): void {
    while (this.head < this.queue.length) {
      const next = this.queue[this.head] as AdmissionTicket;
      if (next.state === 'waiting') {
        if (!this.fits(next.bytes)) break;
        this.waitingNow--;
        next.admit();
      }
      this.head++;
    }
    // Drop the consumed front now and then, not on every admission.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

type TicketState = 'waiting' | 'held' | 'refused' | 'done';

/** One request's place: `admitted` says whether it may go on; `release()` once it is done, whatever happened. */
export class AdmissionTicket {
  state: TicketState = 'waiting';
  readonly admitted: Promise<boolean>;
  private settle!: (admitted: boolean) => void;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly admission: Admission,
    readonly bytes: number,
  ) {
    this.admitted = new Promise((resolve) => (this.settle = resolve));
  }

  /** Gives the bytes back if held, or the place in the queue if still waiting. Idempotent. */
  release(): void {
    const was = this.state;
    this.state = 'done';
    if (was === 'held') this.admission.leave(this.bytes);
    else if (was === 'waiting') this.stopWaiting(false);
  }

  /** @internal */
  admit(): void {
    this.clearTimer();
    this.state = 'held';
    this.admission.take(this.bytes);
    this.settle(true);
  }

  /** @internal */
  refuse(): void {
    this.state = 'refused';
    this.settle(false);
  }

  /** @internal */
  wait(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.state !== 'waiting') return;
      this.state = 'refused';
      this.stopWaiting(true);
    }, ms);
  }

  private stopWaiting(timedOut: boolean): void {
    this.clearTimer();
    this.settle(false);
    this.admission.withdraw(this, timedOut);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
