/**
 * Platform key sets, fetched from each registration's JWKS URL and cached. A token whose `kid` is
 * not in the cached set makes one refetch (the platform may have rotated), at most once per
 * `refetchCooldownMs` per URL, so a flood of tokens naming made-up kids cannot turn ExamVault into
 * a hammer on the platform. Fetches time out and are size-limited; a failure is
 * EV_ERR_LTI_PLATFORM_JWKS_UNAVAILABLE.
 */
import type { JWK } from 'jose';
import { ltiError } from './platform.service.js';

const MAX_JWKS_BYTES = 256 * 1024;
const FETCH_TIMEOUT_MS = 5000;
/** A cached set is used this long before it is fetched again. */
const MAX_AGE_MS = 10 * 60 * 1000;

interface Cached {
  keys: JWK[];
  fetchedAt: number;
  lastRefetch: number;
}

export class PlatformKeySets {
  private readonly cache = new Map<string, Cached>();
  /** For tests and metrics: how many times each URL was fetched. */
  readonly fetches = new Map<string, number>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly refetchCooldownMs = 10_000,
  ) {}

  private async fetchSet(url: string): Promise<JWK[]> {
    this.fetches.set(url, (this.fetches.get(url) ?? 0) + 1);
    let body: unknown;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error', headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`status ${res.status}`);
      const text = await res.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('too large');
      body = JSON.parse(text);
    } catch {
      throw ltiError('EV_ERR_LTI_PLATFORM_JWKS_UNAVAILABLE', 'the platform\'s key set could not be fetched from its JWKS URL');
    }
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw ltiError('EV_ERR_LTI_PLATFORM_JWKS_UNAVAILABLE', 'the platform\'s JWKS URL did not answer a key set');
    return keys.filter((k): k is JWK => typeof k === 'object' && k !== null);
  }

  /** The key with this `kid` from the platform's set, refetching once when it is unknown; null if none. */
  async key(url: string, kid: string): Promise<JWK | null> {
    const now = this.clock();
    let entry = this.cache.get(url);
    let fresh = false;
    if (!entry || now - entry.fetchedAt > MAX_AGE_MS) {
      entry = { keys: await this.fetchSet(url), fetchedAt: now, lastRefetch: entry?.lastRefetch ?? -Infinity };
      this.cache.set(url, entry);
      fresh = true;
    }
    const found = entry.keys.find((k) => k.kid === kid);
    if (found) return found;
    // Just fetched: asking again now would only get the same answer.
    if (fresh || now - entry.lastRefetch < this.refetchCooldownMs) return null;
    entry.lastRefetch = now;
    entry.keys = await this.fetchSet(url);
    entry.fetchedAt = now;
    return entry.keys.find((k) => k.kid === kid) ?? null;
  }
}
