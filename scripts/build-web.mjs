#!/usr/bin/env node
/**
 * Builds the browser apps (src/web: recorder, reviewer, admin) with Vite into dist/web, one page at a
 * time, and writes Subresource Integrity into every page.
 *
 * One build per page, not one multi-page build: a multi-page build splits the code the pages share
 * (src/crypto) into a chunk that each entry `import`s, and a static import carries no integrity
 * attribute. Built alone, each page is one script (and at most one style sheet), both named in its
 * HTML with `integrity="sha384-…"`, so the browser checks every byte it runs.
 *
 * No inline script or style is emitted (the server's CSP has no 'unsafe-inline'): the module-preload
 * polyfill, Vite's only inline script, is off.
 *
 * Usage: node scripts/build-web.mjs [outDir]   (default dist/web). Tests import buildWebApps().
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('../src/web/', import.meta.url));
const defaultOutDir = fileURLToPath(new URL('../dist/web/', import.meta.url));

/** The pages, each served under /app/<name>/. */
export const webPages = Object.freeze(['recorder', 'reviewer', 'admin']);

/** URL prefix the server serves dist/web under. */
export const WEB_BASE = '/app/';

/**
 * Adds `integrity` (SHA-384 of the emitted bytes) and `crossorigin` to every script and style sheet
 * the page names.
 */
function subresourceIntegrity() {
  return {
    name: 'examvault-sri',
    enforce: 'post',
    // After the files are written: the digest is of the very bytes the server will send.
    async writeBundle(options, bundle) {
      const digests = new Map();
      for (const item of Object.values(bundle)) {
        const bytes = await readFile(join(options.dir, item.fileName));
        digests.set(WEB_BASE + item.fileName, `sha384-${createHash('sha384').update(bytes).digest('base64')}`);
      }
      for (const item of Object.values(bundle)) {
        if (!item.fileName.endsWith('.html')) continue;
        const path = join(options.dir, item.fileName);
        const html = await readFile(path, 'utf8');
        const tagged = html.replace(/<(script|link)\b([^>]*?)\s(src|href)="([^"]+)"([^>]*)>/g, (tag, name, before, attr, url, after) => {
          const digest = digests.get(url);
          if (!digest) {
            if (name === 'script' || /rel="(stylesheet|modulepreload)"/.test(tag)) throw new Error(`${item.fileName}: ${url} is not part of the build, so it cannot carry integrity`);
            return tag;
          }
          const rest = `${before} ${attr}="${url}"${after}`.replace(/\scrossorigin(="[^"]*")?/g, '');
          return `<${name}${rest} integrity="${digest}" crossorigin="anonymous">`;
        });
        if (/<script(?![^>]*\bsrc=)[^>]*>/.test(tagged) || /<style\b/.test(tagged) || /\sstyle="/.test(tagged)) {
          throw new Error(`${item.fileName} holds an inline script or style, which the CSP refuses`);
        }
        await writeFile(path, tagged);
      }
    },
  };
}

/**
 * @hpke/core falls back to Node's `crypto` where WebCrypto is missing; every browser the apps support
 * has WebCrypto, so the fallback resolves to an empty module rather than a browser stub with a warning.
 */
function noNodeCrypto() {
  const id = '\0examvault-no-node-crypto';
  return {
    name: 'examvault-no-node-crypto',
    enforce: 'pre',
    resolveId: (source) => (source === 'crypto' || source === 'node:crypto' ? id : null),
    load: (loaded) => (loaded === id ? 'export const webcrypto = undefined; export default {};' : null),
  };
}

export async function buildWebApps(outDir = defaultOutDir, { quiet = false } = {}) {
  await rm(outDir, { recursive: true, force: true });
  for (const page of webPages) {
    await build({
      configFile: false,
      root,
      base: WEB_BASE,
      logLevel: quiet ? 'silent' : 'warn',
      plugins: [noNodeCrypto(), subresourceIntegrity()],
      build: {
        outDir,
        emptyOutDir: false,
        modulePreload: { polyfill: false },
        // Assets are served with the same CSP: nothing inlined as a data: URL.
        assetsInlineLimit: 0,
        target: 'es2022',
        sourcemap: false,
        rollupOptions: {
          input: { [page]: `${root}${page}/index.html` },
          onwarn(warning, warn) {
            // Dependencies' comments Rollup cannot place (@hpke's sha3.js); nothing of ours.
            if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
            warn(warning);
          },
          // @hpke/core keeps a dynamic import of Node's crypto for runtimes without WebCrypto; inlined,
          // it never becomes a separately fetched (and so unchecked) file.
          output: {
            inlineDynamicImports: true,
            entryFileNames: 'assets/[name]-[hash].js',
            chunkFileNames: 'assets/[name]-[hash].js',
            assetFileNames: 'assets/[name]-[hash][extname]',
          },
        },
      },
    });
  }
  return outDir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildWebApps(process.argv[2] ?? defaultOutDir);
}
