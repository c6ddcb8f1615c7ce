/** Reading everything a server wrote, for tests that inspect what it holds. */
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface StoredFile {
  /** Relative to the data directory, with `/` separators. */
  readonly path: string;
  readonly bytes: Buffer;
}

/** Every regular file below `dir` with its bytes (databases with their WAL files included). */
export async function readAllFiles(dir: string): Promise<StoredFile[]> {
  const out: StoredFile[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) out.push({ path: relative(dir, p).split('\\').join('/'), bytes: await readFile(p) });
    }
  };
  await walk(dir);
  return out;
}

/** The files that contain `needle` anywhere. */
export function filesContaining(files: readonly StoredFile[], needle: Uint8Array | string): string[] {
  const n = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : Buffer.from(needle.buffer, needle.byteOffset, needle.byteLength);
  return files.filter((f) => f.bytes.includes(n)).map((f) => f.path);
}
