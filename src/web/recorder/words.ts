/**
 * Plain words the recorder shows. Region names repeat the server's catalog
 * (src/server/regions/catalog.ts), which the web apps may not import; an unknown id is shown as is.
 */
const regionNames: Readonly<Record<string, string>> = {
  us: 'the United States',
  ca: 'Canada',
  eu: 'the European Union',
  me: 'the Middle East',
  au: 'Australia',
};

export function regionName(id: string): string {
  return regionNames[id] ?? `the region “${id}”`;
}

export function size(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function pieces(n: number): string {
  return n === 1 ? '1 piece' : `${n} pieces`;
}

export const trackNames = {
  camera: 'Camera',
  microphone: 'Microphone',
  screen: 'Screen',
  snapshot: 'Still pictures',
} as const;
