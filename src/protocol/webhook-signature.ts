/**
 * Signed webhooks (docs/INTEGRATION.md, "Webhooks"): how ExamVault signs what it sends an assessment
 * platform, and the helper a platform's receiver uses to check it. Isomorphic (WebCrypto only): it
 * runs in Node 20+, Deno, Bun, Cloudflare Workers and browsers alike.
 *
 * Every delivery carries three headers:
 *
 *   ExamVault-Webhook-Id:        evt-…          the event's id; the same on every retry of the event
 *   ExamVault-Webhook-Timestamp: 1767225600     when this delivery was signed, seconds since the epoch
 *   ExamVault-Webhook-Signature: v1=<64 hex>    HMAC-SHA256(secret, timestamp + "." + raw body)
 *
 * The HMAC key is the platform's webhook secret (`whsec_…`) as UTF-8 bytes, shown once at
 * registration. The timestamp is inside the signed bytes, so a captured delivery cannot be re-dated:
 * a receiver refuses one older (or newer) than its tolerance (5 minutes), and within the tolerance
 * refuses an event id it has already accepted (`WebhookReplayGuard`). Verify the raw body bytes
 * exactly as received, before parsing them.
 *
 * @example
 *   const guard = new WebhookReplayGuard();
 *   const event = await verifyWebhook({ secret: process.env.EXAMVAULT_WEBHOOK_SECRET, headers: request.headers, body: rawBody, replayGuard: guard });
 *   // event.type === 'attempt.started' | 'recording.completed'
 */

export const WEBHOOK_ID_HEADER = 'examvault-webhook-id';
export const WEBHOOK_TIMESTAMP_HEADER = 'examvault-webhook-timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'examvault-webhook-signature';
/** How far a delivery's timestamp may be from the receiver's clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export type WebhookErrorCode = 'EV_ERR_WEBHOOK_MALFORMED' | 'EV_ERR_WEBHOOK_BAD_SIGNATURE' | 'EV_ERR_WEBHOOK_STALE' | 'EV_ERR_WEBHOOK_REPLAYED';

export class WebhookVerificationError extends Error {
  constructor(readonly code: WebhookErrorCode, message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export type WebhookEventType = 'attempt.started' | 'recording.completed';

export interface WebhookEvent {
  readonly id: string;
  readonly type: WebhookEventType;
  /** ISO 8601, UTC: when the event happened (not when it was delivered). */
  readonly createdAt: string;
  readonly data: Record<string, unknown>;
}

/** Remembers the event ids accepted within the tolerance window (one process; persist them if you run several). */
export class WebhookReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(private readonly toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS) {}

  /** False when `id` was accepted before; otherwise records it and returns true. */
  accept(id: string, nowSeconds: number): boolean {
    for (const [k, expiry] of this.seen) {
      if (expiry > nowSeconds) break;
      this.seen.delete(k);
    }
    if (this.seen.has(id)) return false;
    // Kept twice the tolerance: a delivery signed up to `tolerance` in the future stays refused.
    this.seen.set(id, nowSeconds + 2 * this.toleranceSeconds);
    return true;
  }
}

const encoder = new TextEncoder();

function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

function signedBytes(timestamp: number, body: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${timestamp}.`);
  const raw = bytesOf(body);
  const out = new Uint8Array(prefix.length + raw.length);
  out.set(prefix);
  out.set(raw, prefix.length);
  return out;
}

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** The `ExamVault-Webhook-Signature` value for a body signed at `timestamp` (seconds). */
export async function signWebhook(secret: string, timestamp: number, body: string | Uint8Array): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), signedBytes(timestamp, body));
  return `v1=${hex(new Uint8Array(mac))}`;
}

type HeaderBag = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

function header(headers: HeaderBag, name: string): string | null {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  const bag = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : bag[key];
  return typeof value === 'string' ? value : null;
}

export interface VerifyWebhookInput {
  readonly secret: string;
  readonly headers: HeaderBag;
  /** The raw body, exactly as received. */
  readonly body: string | Uint8Array;
  /** The receiver's clock, milliseconds since the epoch (default now). */
  readonly now?: number;
  readonly toleranceSeconds?: number;
  /** Refuses an event id seen before; without one, only the timestamp limits replays. */
  readonly replayGuard?: WebhookReplayGuard;
}

/**
 * Checks a delivery and returns its event. Throws WebhookVerificationError: MALFORMED (headers or
 * body not as specified), BAD_SIGNATURE, STALE (timestamp outside the tolerance), REPLAYED.
 * The signature is checked first, in constant time (WebCrypto's HMAC verify), before anything in
 * the body is trusted.
 */
export async function verifyWebhook(input: VerifyWebhookInput): Promise<WebhookEvent> {
  const tolerance = input.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  const id = header(input.headers, WEBHOOK_ID_HEADER);
  const stamp = header(input.headers, WEBHOOK_TIMESTAMP_HEADER);
  const signature = /^v1=([0-9a-f]{64})$/.exec(header(input.headers, WEBHOOK_SIGNATURE_HEADER) ?? '')?.[1];
  if (!id || !stamp || !/^[0-9]{1,12}$/.test(stamp) || !signature) {
    throw new WebhookVerificationError('EV_ERR_WEBHOOK_MALFORMED', `a delivery needs the ${WEBHOOK_ID_HEADER}, ${WEBHOOK_TIMESTAMP_HEADER} and ${WEBHOOK_SIGNATURE_HEADER} (v1=<hex>) headers`);
  }
  const timestamp = Number(stamp);
  const mac = new Uint8Array((signature.match(/../g) as string[]).map((h) => parseInt(h, 16)));
  if (!(await crypto.subtle.verify('HMAC', await hmacKey(input.secret, 'verify'), mac, signedBytes(timestamp, input.body)))) {
    throw new WebhookVerificationError('EV_ERR_WEBHOOK_BAD_SIGNATURE', 'the signature does not match the body and timestamp under this secret');
  }
  const nowSeconds = Math.floor((input.now ?? Date.now()) / 1000);
  if (Math.abs(nowSeconds - timestamp) > tolerance) {
    throw new WebhookVerificationError('EV_ERR_WEBHOOK_STALE', `the delivery was signed ${nowSeconds - timestamp} s ago; more than ${tolerance} s either way is refused`);
  }
  let event: WebhookEvent;
  try {
    event = JSON.parse(typeof input.body === 'string' ? input.body : new TextDecoder().decode(input.body)) as WebhookEvent;
  } catch {
    throw new WebhookVerificationError('EV_ERR_WEBHOOK_MALFORMED', 'the body is not JSON');
  }
  if (typeof event !== 'object' || event === null || event.id !== id) throw new WebhookVerificationError('EV_ERR_WEBHOOK_MALFORMED', 'the body\'s id is not the id header\'s');
  if (input.replayGuard && !input.replayGuard.accept(id, nowSeconds)) {
    throw new WebhookVerificationError('EV_ERR_WEBHOOK_REPLAYED', `event ${id} was already accepted`);
  }
  return event;
}
