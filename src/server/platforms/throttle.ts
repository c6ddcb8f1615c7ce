/**
 * Online guessing limits for passcode redemption (docs/INTEGRATION.md, "Guessing"). Two budgets, each
 * a count of wrong passcodes in a fixed window; reaching the limit locks the key for a while, and a
 * locked key is refused before any lookup:
 *
 * - per client address (an IPv6 address counts by its /64, which one host usually holds whole):
 *   10 wrong in 10 minutes locks the address for 15 minutes;
 * - per exam (its passcode locator, whether or not such an exam exists, so the answers never tell):
 *   100 wrong in 10 minutes locks the exam for 5 minutes, for everyone.
 *
 * The exam lock is what stops a guesser spread over many addresses; its price is that such a guesser
 * can keep one exam's test takers waiting, 5 minutes at a time, which is why it is short. Counts are
 * in memory, per server process: a restart forgets counts below a limit (the locks themselves are kept
 * in the cells: lockout-store.ts), and N API nodes give N budgets. At 85 secret bits per passcode
 * neither matters: see the arithmetic in docs/INTEGRATION.md.
 */
import { isIPv6 } from 'node:net';

export interface ThrottleRule {
  readonly limit: number;
  readonly windowMs: number;
  readonly lockMs: number;
}

export const ADDRESS_RULE: ThrottleRule = { limit: 10, windowMs: 10 * 60_000, lockMs: 15 * 60_000 };
export const EXAM_RULE: ThrottleRule = { limit: 100, windowMs: 10 * 60_000, lockMs: 5 * 60_000 };

interface Bucket {
  windowStart: number;
  failures: number;
  lockedUntil: number;
}

/** One budget: failures per key in a fixed window, then a lock. Bounded in memory. */
export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly rule: ThrottleRule,
    private readonly capacity = 100_000,
  ) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  lockedFor(key: string, now: number): number {
    const b = this.buckets.get(key);
    return b && b.lockedUntil > now ? b.lockedUntil - now : 0;
  }

  /** Counts a failure; returns the lock's end when this failure reached the limit, else null. */
  fail(key: string, now: number): { lockedUntil: number; failures: number } | null {
    let b = this.buckets.get(key);
    if (!b || now - b.windowStart >= this.rule.windowMs || (b.lockedUntil !== 0 && b.lockedUntil <= now)) {
      b = { windowStart: now, failures: 0, lockedUntil: 0 };
    }
    this.buckets.delete(key);
    this.buckets.set(key, b);
    b.failures++;
    this.evict(now);
    if (b.failures < this.rule.limit) return null;
    b.lockedUntil = now + this.rule.lockMs;
    return { lockedUntil: b.lockedUntil, failures: b.failures };
  }

  /** Forgets a key's failures (a success from that address). A lock stays. */
  forgive(key: string, now: number): void {
    if (this.lockedFor(key, now) === 0) this.buckets.delete(key);
  }

  private evict(now: number): void {
    if (this.buckets.size <= this.capacity) return;
    for (const [key, b] of this.buckets) {
      if (this.buckets.size <= this.capacity) return;
      // Oldest first (Map order is last use); a live lock is never dropped early.
      if (b.lockedUntil <= now) this.buckets.delete(key);
    }
  }
}

/** The throttle key of a client address: IPv4 whole, IPv6 by its /64 prefix. */
export function addressKey(ip: string): string {
  if (!isIPv6(ip)) return ip;
  if (ip.startsWith('::ffff:')) return ip.slice(7);
  const [head = '', tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
