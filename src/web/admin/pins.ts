/**
 * What the admin console pins in this browser (IndexedDB `examvault-admin`, store `pins`): public
 * facts learnt once and then held against the server, never secrets.
 *
 * - `root:<institution>`: the recovery keys' fingerprint, pinned at set-up (or, in another browser,
 *   on first use). Epoch keys are trusted only along a chain from it, and a revocation grants the new
 *   epoch only to the recovery key that has it.
 * - `log:<origin>`: the audit log's verifier key, pinned on first use; checkpoints must open under it.
 *
 * A pin is never replaced: a server that later serves another root or log key is refused here.
 */
const DB_NAME = 'examvault-admin';
const STORE = 'pins';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

async function withPins<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const open = indexedDB.open(DB_NAME, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(STORE);
  };
  const db = await request(open);
  try {
    return await request(run(db.transaction(STORE, mode, { durability: 'strict' }).objectStore(STORE)));
  } finally {
    db.close();
  }
}

export function readPin(name: string): Promise<string | undefined> {
  return withPins<string | undefined>('readonly', (s) => s.get(name) as IDBRequest<string | undefined>);
}

/**
 * Pins `value` under `name` unless something is pinned already; returns what is pinned now, so the
 * caller compares it with what it was given.
 */
export async function pin(name: string, value: string): Promise<string> {
  const existing = await readPin(name);
  if (existing !== undefined) return existing;
  await withPins('readwrite', (s) => s.add(value, name));
  return value;
}
