/**
 * The recorder's local store (IndexedDB): sealed segments wait here until the server acknowledges
 * them, so a lost network, a reload, a closed tab or a restarting server loses nothing. Only sealed
 * bytes are written: the sealed header (its data key is HPKE-wrapped to the epoch key) and sealed
 * segments. No plaintext media and no data key ever reach IndexedDB. A recording in progress also
 * keeps its sealer's state (src/crypto/recording.ts `SealerState`: the payload key as a
 * non-extractable, encrypt-only CryptoKey), so that a reloaded page continues and closes the same
 * recording; it is deleted with the final segment.
 *
 * A segment is written in the same moment it is sealed, before anything tries to upload it, and
 * deleted only after the server answered 200/201 for it (docs/UPLOAD.md: acknowledged means durable).
 */
import type { AttemptInfo } from '../../protocol/attempt.js';
import type { SealerState, Track } from '../../crypto/index.js';
import type { LogPin } from './log-proof.js';

export const VAULT_NAME = 'examvault-recorder';
/**
 * 2 added `roots`: the recovery-key fingerprint pinned per institution (epoch-trust.ts).
 * 3 added `logs`: the audit log key and latest verified checkpoint per institution (log-proof.ts).
 */
const VERSION = 3;

export type RecordingState =
  /** Being recorded, here or (after a reload) by the page that resumes it from `sealer`. */
  | 'recording'
  /** Closed by the recorder with a final segment: complete once every segment is uploaded. */
  | 'finished'
  /** Cut off with no sealer state to resume it (a vault of version 2 and older): no final segment can follow. */
  | 'interrupted';

export interface StoredRecording {
  readonly id: string;
  readonly track: Track;
  readonly mediaType: string;
  /** The sealed header bytes (SPEC §5). */
  readonly header: Uint8Array;
  readonly state: RecordingState;
  /** Set when finished: the number of segments, final one included. */
  readonly segmentCount: number | null;
  /** The server has the header (POST /v1/recordings answered 200/201). */
  readonly created: boolean;
  /** Milliseconds since 1970 when recording began. */
  readonly startedAt: number;
  /** While recording: what resumes the sealer in another page. Deleted with the final segment. */
  readonly sealer?: SealerState;
  /**
   * The index the next sealed segment gets: written in the same transaction as each segment, so a
   * resumed sealer never reuses the index (and nonce) of a segment that left the page.
   */
  readonly nextIndex?: number;
}

/** A waiting segment's entry; its bytes are kept apart (store `sealed`) so that listing reads no media. */
export interface WaitingSegment {
  readonly recording: string;
  readonly index: number;
  readonly size: number;
}

export interface StoredAttempt {
  readonly credential: string;
  readonly info: AttemptInfo;
  /** The trust anchors as JSON (handoff.ts), to check the epoch key again after a reload. */
  readonly trust: unknown;
  readonly consentedAt: number;
}

function promised<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

export interface Vault {
  attempt(): Promise<StoredAttempt | undefined>;
  saveAttempt(attempt: StoredAttempt): Promise<void>;
  recordings(): Promise<StoredRecording[]>;
  putRecording(r: StoredRecording): Promise<void>;
  updateRecording(id: string, change: Partial<Pick<StoredRecording, 'state' | 'segmentCount' | 'created'>>): Promise<void>;
  /**
   * Stores a sealed segment, its entry and the recording's next index in one transaction; the final
   * segment (`last`) also marks the recording finished and deletes its sealer state.
   */
  putSegment(recording: string, index: number, sealed: Uint8Array, last?: boolean): Promise<void>;
  /** Waiting segments of one recording, by index. */
  segments(recording: string): Promise<WaitingSegment[]>;
  /** One waiting segment's sealed bytes. */
  sealed(recording: string, index: number): Promise<Uint8Array | undefined>;
  /** Every waiting segment, for the page's pending list. */
  pending(): Promise<WaitingSegment[]>;
  deleteSegment(recording: string, index: number): Promise<void>;
  deleteRecording(id: string): Promise<void>;
  /** Forgets the attempt once nothing is waiting. */
  clearAttempt(): Promise<void>;
  /** The institution's recovery-key fingerprint this browser pinned on first use (docs/WEB.md "Which key the recorder trusts"). */
  pinnedRoot(institution: string): Promise<string | undefined>;
  /** Pins it; an existing pin is never replaced (the caller refuses a different one instead). */
  pinRoot(institution: string, fingerprint: string): Promise<void>;
  /** The institution's audit log key and the latest checkpoint this browser verified (log-proof.ts). */
  pinnedLog(institution: string): Promise<LogPin | undefined>;
  /** Keeps a newer pin; the caller has proven that its checkpoint extends the one it replaces. */
  pinLog(institution: string, pin: LogPin): Promise<void>;
}

export async function openVault(name = VAULT_NAME): Promise<Vault> {
  const open = indexedDB.open(name, VERSION);
  open.onupgradeneeded = (event) => {
    const db = open.result;
    if (event.oldVersion < 1) {
      db.createObjectStore('attempt');
      db.createObjectStore('recordings', { keyPath: 'id' });
      db.createObjectStore('segments', { keyPath: ['recording', 'index'] });
      db.createObjectStore('sealed');
    }
    if (event.oldVersion < 2) db.createObjectStore('roots');
    if (event.oldVersion < 3) db.createObjectStore('logs');
  };
  const db = await promised(open);

  const store = (name: string, mode: IDBTransactionMode) => {
    const tx = db.transaction(name, mode, { durability: 'strict' });
    return { tx, s: tx.objectStore(name) };
  };
  const write = async (name: string, act: (s: IDBObjectStore) => void) => {
    const { tx, s } = store(name, 'readwrite');
    act(s);
    await done(tx);
  };

  return {
    async attempt() {
      return (await promised(store('attempt', 'readonly').s.get('current'))) as StoredAttempt | undefined;
    },
    saveAttempt: (attempt) => write('attempt', (s) => s.put(attempt, 'current')),
    async recordings() {
      const all = (await promised(store('recordings', 'readonly').s.getAll())) as StoredRecording[];
      return all.sort((a, b) => a.startedAt - b.startedAt || a.id.localeCompare(b.id));
    },
    putRecording: (r) => write('recordings', (s) => s.put(r)),
    async updateRecording(id, change) {
      const { tx, s } = store('recordings', 'readwrite');
      const current = (await promised(s.get(id))) as StoredRecording | undefined;
      if (current) s.put({ ...current, ...change });
      await done(tx);
    },
    async putSegment(recording, index, sealed, last = false) {
      const tx = db.transaction(['segments', 'sealed', 'recordings'], 'readwrite', { durability: 'strict' });
      const recordings = tx.objectStore('recordings');
      const current = (await promised(recordings.get(recording))) as StoredRecording | undefined;
      if (!current) {
        tx.abort();
        throw new Error(`no recording ${recording} in the vault`);
      }
      tx.objectStore('sealed').put(sealed, [recording, index]);
      tx.objectStore('segments').put({ recording, index, size: sealed.length } satisfies WaitingSegment);
      const next: { -readonly [K in keyof StoredRecording]: StoredRecording[K] } = { ...current, nextIndex: index + 1 };
      if (last) {
        // Nothing may be sealed after the final segment: the key that could goes with it.
        delete next.sealer;
        Object.assign(next, { state: 'finished', segmentCount: index + 1 });
      }
      recordings.put(next);
      await done(tx);
    },
    async segments(recording) {
      const range = IDBKeyRange.bound([recording, 0], [recording, Number.MAX_SAFE_INTEGER]);
      return (await promised(store('segments', 'readonly').s.getAll(range))) as WaitingSegment[];
    },
    async sealed(recording, index) {
      return (await promised(store('sealed', 'readonly').s.get([recording, index]))) as Uint8Array | undefined;
    },
    async pending() {
      return (await promised(store('segments', 'readonly').s.getAll())) as WaitingSegment[];
    },
    async deleteSegment(recording, index) {
      const tx = db.transaction(['segments', 'sealed'], 'readwrite', { durability: 'strict' });
      tx.objectStore('segments').delete([recording, index]);
      tx.objectStore('sealed').delete([recording, index]);
      await done(tx);
    },
    async deleteRecording(id) {
      const { tx, s } = store('recordings', 'readwrite');
      s.delete(id);
      await done(tx);
    },
    clearAttempt: () => write('attempt', (s) => s.delete('current')),
    async pinnedRoot(institution) {
      return (await promised(store('roots', 'readonly').s.get(institution))) as string | undefined;
    },
    pinRoot: (institution, fingerprint) => write('roots', (s) => s.add(fingerprint, institution)),
    async pinnedLog(institution) {
      return (await promised(store('logs', 'readonly').s.get(institution))) as LogPin | undefined;
    },
    pinLog: (institution, pin) => write('logs', (s) => s.put(pin, institution)),
  };
}
