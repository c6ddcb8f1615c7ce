/**
 * The built browser apps (dist/web, written by scripts/build-web.mjs), read once into memory when the
 * server starts: pages are served from memory, never re-read from disk per request.
 *
 * Every page names its scripts and style sheets with Subresource Integrity. Loading checks each
 * `integrity` against the bytes that will be served, and refuses to serve a build whose pages and
 * assets disagree (a half-copied or edited dist/web) rather than hand browsers a page they would
 * refuse anyway.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

export interface WebAsset {
  readonly body: Buffer;
  readonly type: string;
  /** Hashed file names never change content: browsers may keep them for a year. */
  readonly immutable: boolean;
}

/** URL path (under the mount point, e.g. `recorder/` or `assets/recorder-3f2a.js`) → asset. */
export type WebAssets = ReadonlyMap<string, WebAsset>;

const types: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

export class WebBuildError extends Error {}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

export function sriDigest(bytes: Uint8Array): string {
  return `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
}

/** `[url, integrity]` of every tag in a page that carries an integrity attribute. */
export function integrityReferences(html: string): [string, string][] {
  const refs: [string, string][] = [];
  for (const [tag] of html.matchAll(/<(?:script|link)\b[^>]*>/g)) {
    const url = /\s(?:src|href)="([^"]+)"/.exec(tag)?.[1];
    const integrity = /\sintegrity="([^"]+)"/.exec(tag)?.[1];
    if (url && integrity) refs.push([url, integrity]);
  }
  return refs;
}

/**
 * Reads a build. `mount` is the URL prefix pages refer to assets by (`/app/`). Returns null when the
 * directory does not exist (the apps were not built); throws WebBuildError when it is inconsistent.
 */
export async function loadWebAssets(dir: string, mount: string): Promise<WebAssets | null> {
  let files: string[];
  try {
    files = await listFiles(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const assets = new Map<string, WebAsset>();
  for (const file of files) {
    const path = relative(dir, file).split(sep).join('/');
    const type = types[extname(file)];
    if (!type) continue;
    const body = await readFile(file);
    // `recorder/index.html` is served as `recorder/`: one URL per page.
    const key = path.endsWith('/index.html') ? path.slice(0, -'index.html'.length) : path;
    assets.set(key, { body, type, immutable: path.startsWith('assets/') });
  }
  for (const [key, asset] of assets) {
    if (!asset.type.startsWith('text/html')) continue;
    for (const [url, integrity] of integrityReferences(asset.body.toString('utf8'))) {
      const target = url.startsWith(mount) ? assets.get(url.slice(mount.length)) : undefined;
      if (!target || sriDigest(target.body) !== integrity) {
        throw new WebBuildError(`${key}: ${url} does not match its integrity attribute; rebuild the web apps (npm run build)`);
      }
    }
  }
  return assets;
}
