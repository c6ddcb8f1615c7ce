/**
 * Passcode guessing lockouts kept in the cell databases (table `passcode_lockouts`, cell migration
 * 0011), so that restarting the server does not lift them (docs/INTEGRATION.md, "Guessing").
 *
 * A lockout is written, when a budget runs out, to the cell the redemption looked in (the exam's, or
 * for an unknown locator the cell looked in all the same), under that cell's keyed hash of the budget
 * (passcode-key.ts): a client address is never stored. The server reads every cell's live lockouts
 * once, at its first redemption, and checks a budget against them by hashing its name under each
 * cell's key; lockouts made by the running process are in memory as well (throttle.ts). Counts of
 * wrong passcodes below a limit stay in memory only: a restart forgets those, not the locks.
 */
import type { Cell, Cells } from '../regions/cell.types.js';
import type { PasscodeKeys } from './passcode-key.js';

export class LockoutStore {
  /** `<region> <hash>` → locked until (ms), as read at the first redemption. */
  private loaded: Promise<Map<string, number>> | null = null;

  constructor(
    private readonly cells: Cells,
    private readonly keys: PasscodeKeys,
  ) {}

  private async load(now: number): Promise<Map<string, number>> {
    const live = new Map<string, number>();
    for (const cell of this.cells.values()) {
      const rows = await cell.db.selectFrom('passcode_lockouts').selectAll().where('locked_until', '>', now).execute();
      for (const row of rows) live.set(`${cell.region} ${row.key_hash}`, Number(row.locked_until));
    }
    return live;
  }

  /** Milliseconds a budget (`exam <locator>` or `address <key>`) stays locked by a lockout kept before this process started. */
  async lockedFor(budget: string, now: number): Promise<number> {
    this.loaded ??= this.load(now).catch((e: unknown) => {
      this.loaded = null;
      throw e;
    });
    const live = await this.loaded;
    if (live.size === 0) return 0;
    let until = 0;
    for (const cell of this.cells.values()) {
      const key = this.keys.get(cell.region);
      if (key) until = Math.max(until, live.get(`${cell.region} ${key.lockoutHash(budget)}`) ?? 0);
    }
    return Math.max(0, until - now);
  }

  /** Keeps a lockout in `cell`, and forgets that cell's lockouts that are over. */
  async save(cell: Cell, budget: string, lockedUntil: number, now: number): Promise<void> {
    const key = this.keys.get(cell.region);
    if (!key) throw new Error(`no passcode key for region ${cell.region}`);
    await cell.db.deleteFrom('passcode_lockouts').where('locked_until', '<=', now).execute();
    await cell.db
      .insertInto('passcode_lockouts')
      .values({ key_hash: key.lockoutHash(budget), locked_until: lockedUntil })
      .onConflict((oc) => oc.column('key_hash').doUpdateSet({ locked_until: lockedUntil }))
      .execute();
  }
}
