/**
 * The regions ExamVault knows how to run (DESIGN "Regions"). A deployment runs a subset of them
 * (`ServerConfig.regions`, validated against this list by config.ts); each one it runs becomes a
 * cell. The list only grows: an id, once published, is pinned into institutions and sealed
 * recordings (SPEC §5 `region`) and must keep its meaning forever.
 */

export interface RegionInfo {
  /** Stable id: 2–16 characters of `[a-z0-9-]`, the form the sealed format accepts. */
  readonly id: string;
  /** Shown to people choosing where an institution's data lives. */
  readonly name: string;
}

export const regionCatalog: readonly RegionInfo[] = Object.freeze([
  Object.freeze({ id: 'us', name: 'United States' }),
  Object.freeze({ id: 'ca', name: 'Canada' }),
  Object.freeze({ id: 'eu', name: 'European Union' }),
  Object.freeze({ id: 'me', name: 'Middle East' }),
  Object.freeze({ id: 'au', name: 'Australia' }),
]);

/** The catalog's ids, in catalog order. */
export const regionIds: readonly string[] = Object.freeze(regionCatalog.map((r) => r.id));

export function findRegion(id: string): RegionInfo | undefined {
  return regionCatalog.find((r) => r.id === id);
}
