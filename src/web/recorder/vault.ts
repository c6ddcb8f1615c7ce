/**
 * The recorder's local store (IndexedDB): sealed segments wait here until the server acknowledges
 * them, so a lost network, a reload, a closed tab or a restarting server loses nothing. Only sealed
 * bytes are written: the sealed header (its data key is HPKE-wrapped to the epoch key) and sealed
 * segments. No plaintext media and no data key ever reach IndexedDB.
 *
 * A segment is written in the same moment it is sealed, before anything tries to upload it, and
 * deleted only after the server answered 200/201 for it (docs/UPLOAD.md: acknowledged means durable).
 */
import type { AttemptInfo } from '../../protocol/attempt.js';
import type { Track } from '../../crypto/index.js';

export const VAULT_NAME = 'examvault-recorder';
const VERSION = 1;

export type RecordingState =
  /** Being recorded in this page right now. */
  | 'recording'
  /** Closed by the recorder with a final segment: complete once every segment is uploaded. */
  | 'finished'
  /** Cut off by a reload or a closed tab: its data key died with the page, so no final segment can follow. */
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
}

export interface StoredSegment {
  readonly recording: string;
  readonly index: number;
  readonly sealed: Uint8Array;
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
  putSegment(s: StoredSegment): Promise<void>;
  /** Waiting segments of one recording, by index. */
  segments(recording: string): Promise<StoredSegment[]>;
  /** Every waiting segment's recording and size, for the page's pending list (no bytes copied out). */
  pending(): Promise<{ recording: string; index: number; size: number }[]>;
  deleteSegment(recording: string, index: number): Promise<void>;
  deleteRecording(id: string): Promise<void>;
  /** Forgets the attempt once nothing is waiting. */
  clearAttempt(): Promise<void>;
}

export async function openVault(name = VAULT_NAME): Promise<Vault> {
  const open = indexedDB.open(name, VERSION);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore('attempt');
    db.createObjectStore('recordings', { keyPath: 'id' });
    db.createObjectStore('segments', { keyPath: ['recording', 'index'] });
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
    putSegment: (segment) => write('segments', (s) => s.put(segment)),
    async segments(recording) {
      const range = IDBKeyRange.bound([recording, 0], [recording, Number.MAX_SAFE_INTEGER]);
      return (await promised(store('segments', 'readonly').s.getAll(range))) as StoredSegment[];
    },
    async pending() {
      const out: { recording: string; index: number; size: number }[] = [];
      const { tx, s } = store('segments', 'readonly');
      await new Promise<void>((resolve, reject) => {
        const cursor = s.openCursor();
        cursor.onerror = () => reject(cursor.error ?? new Error('IndexedDB cursor failed'));
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (!c) return resolve();
          const v = c.value as StoredSegment;
          out.push({ recording: v.recording, index: v.index, size: v.sealed.length });
          c.continue();
        };
      });
      await done(tx);
      return out;
    },
    deleteSegment: (recording, index) => write('segments', (s) => s.delete([recording, index])),
    async deleteRecording(id) {
      const { tx, s } = store('recordings', 'readwrite');
      s.delete(id);
      await done(tx);
    },
    clearAttempt: () => write('attempt', (s) => s.delete('current')),
  };
}
