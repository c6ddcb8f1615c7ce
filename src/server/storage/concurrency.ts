/**
 * Two small concurrency tools the stores share: a per-key queue that keeps operations on one key in
 * the order they were issued, and a tracker of operations under way so that `close` can wait for them.
 */

export interface Turn {
  /** Resolves when every earlier turn on the same key is done. Never rejects. */
  readonly ready: Promise<void>;
  /** Ends this turn, letting the next one go. Idempotent; call it in `finally`. */
  done(): void;
}

export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Reserves the next turn on `key`. Synchronous, so turns follow the order of the calls. */
  take(key: string): Turn {
    const ready = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(key, mine);
    let ended = false;
    return {
      ready,
      done: () => {
        if (ended) return;
        ended = true;
        release();
        if (this.tails.get(key) === mine) this.tails.delete(key);
      },
    };
  }

  /** Runs `fn` alone on `key`, after every operation on `key` issued before it. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const turn = this.take(key);
    try {
      await turn.ready;
      return await fn();
    } finally {
      turn.done();
    }
  }
}

export class InFlight {
  private readonly ops = new Set<Promise<unknown>>();

  track<T>(op: Promise<T>): Promise<T> {
    this.ops.add(op);
    const forget = () => this.ops.delete(op);
    op.then(forget, forget);
    return op;
  }

  /** Resolves once every tracked operation has settled, including ones started meanwhile. */
  async drain(): Promise<void> {
    while (this.ops.size > 0) await Promise.allSettled([...this.ops]);
  }
}
