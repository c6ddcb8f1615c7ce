/**
 * A staff member's own custody keys in the browser (docs/KEY-CUSTODY.md §3, §5; docs/WEB.md "Staff
 * keys"), shared by the admin console and the reviewer app. The keys are made in the page
 * (src/crypto/custody `createMemberKeyFile`, the function `examvault custody keygen` uses), and kept
 * only as that member key file: the self-signed key registration and both private keys wrapped by
 * the member's passphrase (PBKDF2-HMAC-SHA256, 600,000 iterations, the client's own bound).
 *
 * Where they live:
 * - IndexedDB `examvault-staff`, store `keys`, one record per institution and member: the key file as
 *   uploaded. No unwrapped private key is ever written: unlocked keys are CryptoKeys held in the
 *   page's memory until it closes.
 * - the server (`PUT /v1/custody/me/keys`), the same file, so that another browser can fetch it
 *   (`GET /v1/custody/me/keys`) and the member still unlocks it with the passphrase alone.
 *
 * A server could serve another file: unlocking checks each wrapped key against the registration, and
 * the safety number (`identityOf`) is what the member reads out to an admin, who compares it with the
 * number the admin's own page computes. Keys the server substituted show another number.
 */
import {
  MIN_MEMBER_PASSPHRASE_LENGTH,
  type MemberRole,
  type UnlockedMemberKeys,
  createMemberKeyFile,
  fromBase64Url,
  memberFingerprint,
  openGrant,
  passphraseLength,
  safetyNumber,
  toBase64Url,
  unlockMemberKeyFile,
  verified,
  verifyStatement,
} from '../../crypto/index.js';
import type { CustodyMember, RegisterKeysRequest } from '../../protocol/custody.js';
import { callJson } from './api.js';
import { type StaffMe, staffJson } from './staff-session.js';

export { MIN_MEMBER_PASSPHRASE_LENGTH, type UnlockedMemberKeys };

const DB_NAME = 'examvault-staff';
const DB_VERSION = 1;
const STORE = 'keys';

/** A member key file as stored: exactly the body of PUT /v1/custody/me/keys, and whose it is. */
export interface StoredStaffKeys extends RegisterKeysRequest {
  readonly institution: string;
  readonly member: string;
  readonly role: MemberRole;
}

/** What a member shows of their own keys: the safety number to read out, and the key fingerprint. */
export interface StaffIdentity {
  /** 8 groups of 5 digits (KEY-CUSTODY §4). */
  readonly safetyNumber: string;
  /** base64url SHA-256 member fingerprint (KEY-CUSTODY §3): what approvals and grants name. */
  readonly fingerprint: string;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

async function openDb(): Promise<IDBDatabase> {
  const open = indexedDB.open(DB_NAME, DB_VERSION);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(STORE);
  };
  return request(open);
}

const keyOf = (me: Pick<StaffMe, 'institution' | 'staffId'>) => `${me.institution}/${me.staffId}`;

async function withStore<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    // 'strict': the key file is on disk before the page goes on to register it (or to say it is saved).
    const tx = db.transaction(STORE, mode, { durability: 'strict' });
    const result = request(run(tx.objectStore(STORE)));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
    return await result;
  } finally {
    db.close();
  }
}

/**
 * Why a new passphrase is refused, in plain words, or null when it is fine: at least
 * MIN_MEMBER_PASSPHRASE_LENGTH characters (as the CLI requires), typed the same twice.
 */
export function newPassphraseProblem(passphrase: string, repeated: string): string | null {
  const length = passphraseLength(passphrase);
  if (length < MIN_MEMBER_PASSPHRASE_LENGTH) {
    return `Use at least ${MIN_MEMBER_PASSPHRASE_LENGTH} characters (this one has ${length}). Several unrelated words are easy to remember and hard to guess.`;
  }
  if (passphrase !== repeated) return 'The two passphrases are different. Type the same passphrase twice.';
  return null;
}

/**
 * Makes the signed-in member's keys, keeps the key file in IndexedDB, then registers it with the
 * server. Returns the file and the keys, unlocked, for immediate use (set-up signs with them).
 * Registering new keys replaces the old ones on the server and drops their grants and approval:
 * callers offer this only to members without keys, or say so first.
 */
export async function createStaffKeys(me: StaffMe, passphrase: string): Promise<{ stored: StoredStaffKeys; unlocked: UnlockedMemberKeys }> {
  const made = await createMemberKeyFile({ institution: me.institution, member: me.staffId, role: me.role, passphrase });
  const stored: StoredStaffKeys = {
    institution: me.institution,
    member: me.staffId,
    role: me.role,
    registration: toBase64Url(made.registration),
    wrappedKeys: made.wrappedKeys,
  };
  await withStore('readwrite', (s) => s.put(stored, keyOf(me)));
  const body: RegisterKeysRequest = { registration: stored.registration, wrappedKeys: stored.wrappedKeys };
  await staffJson(me, '/v1/custody/me/keys', { method: 'PUT', json: body });
  const registration = verified(await verifyStatement(made.registration, () => null, 'key-registration'));
  return { stored, unlocked: { registration, hpkePrivateKey: made.keys.hpke.privateKey, signingPrivateKey: made.keys.signing.privateKey } };
}

/**
 * The member's key file: this browser's copy, else the server's (then kept here too), else null when
 * the member has registered no keys yet. A revoked member gets the server's refusal (EV_ERR_CUSTODY_REVOKED).
 */
export async function loadStaffKeys(me: StaffMe): Promise<StoredStaffKeys | null> {
  const local = await withStore<StoredStaffKeys | undefined>('readonly', (s) => s.get(keyOf(me)) as IDBRequest<StoredStaffKeys | undefined>);
  if (local) return local;
  // Asked first so that a member without keys costs no refused request (GET /me/keys answers 409 then).
  const { status } = await callJson<{ status: string }>('/v1/custody/me/grant');
  if (status === 'unregistered') return null;
  const served = await callJson<CustodyMember & { wrappedKeys: Record<string, unknown> }>('/v1/custody/me/keys');
  const stored: StoredStaffKeys = { institution: me.institution, member: me.staffId, role: me.role, registration: served.registration, wrappedKeys: served.wrappedKeys };
  await withStore('readwrite', (s) => s.put(stored, keyOf(me)));
  return stored;
}

function registrationBytes(stored: StoredStaffKeys): Uint8Array {
  const bytes = fromBase64Url(stored.registration);
  if (!bytes) throw new Error('the stored key registration is not base64url');
  return bytes;
}

/**
 * Unlocks both private keys with the passphrase: one PBKDF2 derivation for both, since they share a
 * salt (a fraction of a second). A wrong passphrase throws EV_ERR_CRYPTO_DECRYPTION_FAILED.
 */
export function unlockStaffKeys(stored: StoredStaffKeys, passphrase: string): Promise<UnlockedMemberKeys> {
  return unlockMemberKeyFile({ registration: registrationBytes(stored), wrappedKeys: stored.wrappedKeys },
    { institution: stored.institution, member: stored.member, role: stored.role }, passphrase);
}

/** The member's own safety number and fingerprint, computed here from the key file's registration. */
export async function identityOf(stored: StoredStaffKeys): Promise<StaffIdentity> {
  const registration = verified(await verifyStatement(registrationBytes(stored), () => null, 'key-registration'));
  return {
    safetyNumber: await safetyNumber({ institution: stored.institution, member: stored.member, keys: registration }),
    fingerprint: toBase64Url(await memberFingerprint(registration)),
  };
}

/**
 * Opens one of the member's own grants: the epoch private key. `epochPublicKey` must come from a
 * verified statement (for instance the epoch chain of GET /v1/custody/epoch), not from the grant:
 * a grant naming any other key, epoch, institution or member is refused.
 */
export function openOwnGrant(
  unlocked: UnlockedMemberKeys,
  grant: unknown,
  scope: { readonly epoch: number; readonly epochPublicKey: Uint8Array },
): Promise<CryptoKey> {
  const r = unlocked.registration;
  return openGrant(grant, { institution: r.institution, ...scope }, { kind: 'member', member: r.reviewer, keys: r }, unlocked.hpkePrivateKey);
}

/** Forgets this browser's copy of the member's key file (the server keeps its own). */
export async function forgetStaffKeys(me: StaffMe): Promise<void> {
  await withStore('readwrite', (s) => s.delete(keyOf(me)));
}
