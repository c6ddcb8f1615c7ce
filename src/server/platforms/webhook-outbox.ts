/**
 * Webhooks to assessment platforms, through a durable outbox in each cell.
 *
 * Contract:
 * - `enqueueWebhook(db, …)` writes the event with the database handle it is given: pass the
 *   transaction that records the cause (a passcode consumed), and the event exists exactly when the
 *   cause does. Each event has a dedupe key (one per cause), so enqueueing again is a no-op: a
 *   completion repeated after a crash enqueues nothing twice.
 * - `WebhookDispatcher` delivers due events: POST of the stored body to the platform's webhook URL,
 *   signed at delivery time (src/protocol/webhook-signature.ts). A 2xx answer marks the event
 *   delivered; anything else (another status, a refused connection, a redirect, a timeout after 10 s)
 *   schedules a retry after 30 s, doubling up to 6 hours; after 20 attempts (about 3 days) it is
 *   marked failed and kept. Events are never deleted by delivery, so a crash at any moment loses
 *   nothing: what was not marked delivered is delivered again (receivers dedupe on the event id).
 * - Only https URLs that do not name a loopback, private or link-local address are delivered to;
 *   tests, whose receivers listen on loopback, pass `allowLoopback`. Host names are not resolved
 *   and checked (a platform's DNS could point at an internal address): a deployment whose API nodes
 *   can reach internal services should send their outbound traffic through an egress proxy.
 */
import type { Kysely } from 'kysely';
import { WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, type WebhookEventType, signWebhook } from '../../protocol/webhook-signature.js';
import type { CellDatabase, WebhookOutboxTable } from '../db/schema.js';
import { newId } from '../ids.js';
import type { Cell, Cells } from '../regions/cell.types.js';
import type { PasscodeKeys } from './passcode-key.js';

export const RETRY_BASE_MS = 30_000;
export const RETRY_MAX_MS = 6 * 3600_000;
export const MAX_DELIVERY_ATTEMPTS = 20;
const DELIVERY_TIMEOUT_MS = 10_000;
const BATCH = 50;

export interface WebhookOptions {
  /** Deliver to loopback addresses over http too: tests only. */
  readonly allowLoopback?: boolean;
  /** How often due events are looked for (default 5 s); enqueueing also wakes the dispatcher. */
  readonly pollMs?: number;
}

export interface NewWebhook {
  readonly institution: string;
  readonly platform: string;
  readonly type: WebhookEventType;
  readonly dedupeKey: string;
  readonly data: Record<string, string | number>;
}

/** Writes an event to the outbox with `db` (a transaction, to tie it to its cause). Idempotent per dedupe key. */
export async function enqueueWebhook(db: Kysely<CellDatabase>, event: NewWebhook, now: number): Promise<void> {
  const id = newId('evt');
  const body = JSON.stringify({ id, type: event.type, createdAt: new Date(now).toISOString(), data: event.data });
  await db
    .insertInto('webhook_outbox')
    .values({ id, institution_id: event.institution, platform_id: event.platform, type: event.type, dedupe_key: event.dedupeKey, body, attempts: 0, next_attempt_at: now, delivered_at: null, failed_at: null, last_status: null, created_at: now })
    .onConflict((oc) => oc.column('dedupe_key').doNothing())
    .execute();
}

/** The retry delay after `attempts` failed deliveries. */
export function retryDelay(attempts: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1), RETRY_MAX_MS);
}

function isLoopbackOrPrivate(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (host.includes(':')) return host === '::' || host === '::1' || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith('::ffff:');
  return false;
}

/** Why a webhook URL is not acceptable, or null. Checked at registration and again before each delivery. */
export function webhookUrlProblem(raw: string, allowLoopback: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'webhookUrl must be an absolute URL';
  }
  if (url.username || url.password) return 'webhookUrl must not carry a user name or password';
  const loopback = isLoopbackOrPrivate(url.hostname);
  if (loopback && !allowLoopback) return 'webhookUrl must not name a loopback, private or link-local address';
  if (url.protocol !== 'https:' && !(loopback && allowLoopback && url.protocol === 'http:')) return 'webhookUrl must be https';
  return null;
}

export class WebhookDispatcher {
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Delivery rounds run one after another, never two at once (two would send an event twice). */
  private chain: Promise<unknown> = Promise.resolve();
  private queued = false;
  private closed = false;
  /** Aborts deliveries in flight at close: a slow receiver must not hold a shutdown for its timeout. */
  private readonly stopping = new AbortController();
  /** Counters for tests and metrics. */
  readonly stats = { delivered: 0, failedAttempts: 0 };

  constructor(
    private readonly cells: Cells,
    private readonly keys: PasscodeKeys,
    private readonly clock: () => number,
    private readonly options: WebhookOptions = {},
  ) {}

  /** Starts polling; the timer never holds the process open. */
  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.kick(), this.options.pollMs ?? 5000);
    this.timer.unref();
    this.kick();
  }

  /** Looks for due events soon (after an enqueue); kicks while a round is waiting make no second one. */
  kick(): void {
    if (this.closed || this.queued) return;
    this.queued = true;
    void this.deliverDue().catch(() => 0);
  }

  /** Delivers every event due now, in every cell, after any round in flight; resolves with how many were delivered. */
  deliverDue(): Promise<number> {
    const round = this.chain.then(() => {
      this.queued = false;
      return this.round();
    });
    this.chain = round.catch(() => 0);
    return round;
  }

  private async round(): Promise<number> {
    let delivered = 0;
    for (const cell of this.cells.values()) {
      if (this.closed) return delivered;
      const now = this.clock();
      const due = await cell.db
        .selectFrom('webhook_outbox')
        .selectAll()
        .where('delivered_at', 'is', null)
        .where('failed_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .limit(BATCH)
        .execute();
      for (const event of due) {
        if (this.closed) return delivered;
        if (await this.deliver(cell, event)) delivered++;
      }
    }
    return delivered;
  }

  private async deliver(cell: Cell, event: WebhookOutboxTable): Promise<boolean> {
    const platform = await cell.db.selectFrom('platforms').select(['webhook_url', 'revoked_at']).where('id', '=', event.platform_id).executeTakeFirst();
    const key = this.keys.get(cell.region);
    const now = this.clock();
    if (!platform || platform.revoked_at !== null || !key || webhookUrlProblem(platform.webhook_url, this.options.allowLoopback === true)) {
      // A revoked platform gets nothing more; the event is kept, marked failed.
      await cell.db.updateTable('webhook_outbox').set({ failed_at: now }).where('id', '=', event.id).execute();
      return false;
    }
    const timestamp = Math.floor(now / 1000);
    let status = 0;
    try {
      const res = await fetch(platform.webhook_url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(DELIVERY_TIMEOUT_MS), this.stopping.signal]),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'ExamVault-Webhooks/1',
          [WEBHOOK_ID_HEADER]: event.id,
          [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
          [WEBHOOK_SIGNATURE_HEADER]: await signWebhook(key.webhookSecret(event.platform_id), timestamp, event.body),
        },
        body: event.body,
      });
      status = res.status;
      await res.body?.cancel();
    } catch {
      // No answer (refused, reset, timed out): status stays 0.
    }
    // Closing: the event stays due, for the next start.
    if (this.closed) return false;
    const attempts = Number(event.attempts) + 1;
    if (status >= 200 && status < 300) {
      await cell.db.updateTable('webhook_outbox').set({ attempts, delivered_at: this.clock(), last_status: status }).where('id', '=', event.id).execute();
      this.stats.delivered++;
      return true;
    }
    this.stats.failedAttempts++;
    const giveUp = attempts >= MAX_DELIVERY_ATTEMPTS;
    await cell.db
      .updateTable('webhook_outbox')
      .set({ attempts, last_status: status, next_attempt_at: now + retryDelay(attempts), failed_at: giveUp ? now : null })
      .where('id', '=', event.id)
      .execute();
    return false;
  }

  /** Stops polling and waits for a delivery round in flight. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.stopping.abort();
    await this.chain;
  }
}
