/**
 * Bundles TypeScript for the browser with esbuild, for the browser run of the crypto suite
 * (test/browser/crypto-in-chromium.test.ts) and the browser benchmark.
 *
 * - `node:test` becomes test/browser/node-test-shim.ts.
 * - `node:assert` and `node:assert/strict` become the npm `assert` package (its `strict` export for
 *   `/strict`). That package and its `util` dependency read `process.env`/`process.stderr`; they get a
 *   module-local `var process = { env: {} }` (never a global: the page keeps `globalThis.process`
 *   undefined, so a test or src/crypto touching `process` fails in the browser as it should).
 * - Any other `node:` import, or a bare Node built-in (`fs`, `crypto`, ...) imported by project code,
 *   fails the build: the crypto core and its suite must be isomorphic.
 */
import { build, type BuildFailure, type Message, type Plugin } from 'esbuild';
import { readFileSync, readdirSync } from 'node:fs';
import { builtinModules, SourceMap } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const shimPath = join(repoRoot, 'test/browser/node-test-shim.ts');
export const cryptoTestDir = join(repoRoot, 'test/crypto');

export interface BrowserBundle {
  /** The ES module, ending with a `//# sourceMappingURL=<name>.map` comment. */
  readonly code: string;
  /** Its source map (sources relative to the repository root). */
  readonly map: string;
  /** The file name the code is meant to be served as (the map as `${name}.map`). */
  readonly name: string;
  readonly warnings: readonly string[];
}

export interface BundleOptions {
  /** File name the bundle is served as; default 'bundle.js'. */
  name?: string;
  minify?: boolean;
  define?: Record<string, string>;
}

/** An entry given as code instead of a file; imports resolve from `resolveDir`. */
export interface InlineEntry {
  contents: string;
  resolveDir: string;
}

const ALLOWED_NODE = ['node:test', 'node:assert', 'node:assert/strict'];
const builtins = builtinModules.filter((m) => !m.startsWith('_') && !m.startsWith('node:'));
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const bareBuiltin = new RegExp(`^(${builtins.map(escape).join('|')})(/.*)?$`);
const inNodeModules = (p: string): boolean => p.split(sep).includes('node_modules');
const show = (p: string): string => (p.startsWith(repoRoot + sep) ? relative(repoRoot, p) : p);

/** Aliases node:test/node:assert, rejects every other Node built-in, scopes `process` for `assert`. */
function isomorphicPlugin(): Plugin {
  return {
    name: 'examvault-isomorphic',
    setup(b) {
      b.onResolve({ filter: /^node:/ }, (args) => {
        if (args.path === 'node:test') return { path: shimPath };
        if (args.path === 'node:assert' || args.path === 'node:assert/strict') {
          return { path: args.path.slice('node:'.length), namespace: 'node-assert' };
        }
        return {
          errors: [{
            text: `${show(args.importer)} imports "${args.path}": code run in the browser may use only ${ALLOWED_NODE.join(', ')} ` +
              '(the crypto core and its tests must be isomorphic: WebCrypto, Web Streams, Uint8Array)',
          }],
        };
      });
      b.onResolve({ filter: bareBuiltin }, (args) => {
        // Packages may name e.g. `util` and get the npm package of that name; project code may not.
        if (args.namespace !== 'file' || !args.importer || inNodeModules(args.importer)) return undefined;
        return {
          errors: [{
            text: `${show(args.importer)} imports the Node built-in "${args.path}": not available in the browser ` +
              `(use node:assert/strict for assertions; the crypto core and its tests must be isomorphic)`,
          }],
        };
      });
      b.onLoad({ filter: /.*/, namespace: 'node-assert' }, (args) => ({
        contents: `module.exports = require('assert')${args.path === 'assert/strict' ? '.strict' : ''};`,
        resolveDir: repoRoot,
        loader: 'js',
      }));
      // assert@2 and util@0.12 read process.env.NODE_DEBUG, process.stderr, process.emitWarning:
      // give just those modules a local stand-in.
      b.onLoad({ filter: /[\\/]node_modules[\\/](assert|util)[\\/].*\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!/\bprocess\b/.test(source)) return undefined;
        // The bundle is an ES module, strict throughout, so a 'use strict' this displaces loses nothing.
        const contents = `var process = { env: {} }; ${source}`;
        return { contents, loader: 'js' };
      });
    },
  };
}

function formatMessages(messages: readonly Message[]): string[] {
  return messages.map((m) => {
    const where = m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : '';
    return `${where}${m.text}`;
  });
}

/** Bundles `entry` (a file path, or inline code) into one browser ES module. */
export function bundleForBrowser(entry: string | InlineEntry, options: BundleOptions = {}): Promise<BrowserBundle> {
  return bundleWithPlugins(entry, options, []);
}

async function bundleWithPlugins(entry: string | InlineEntry, options: BundleOptions, plugins: Plugin[]): Promise<BrowserBundle> {
  const name = options.name ?? 'bundle.js';
  try {
    const result = await build({
      ...(typeof entry === 'string'
        ? { entryPoints: [entry] }
        : { stdin: { contents: entry.contents, resolveDir: entry.resolveDir, sourcefile: '<entry>', loader: 'ts' } }),
      absWorkingDir: repoRoot,
      outfile: join(repoRoot, name),
      write: false,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'chrome120',
      sourcemap: 'linked',
      minify: options.minify ?? false,
      define: options.define ?? {},
      logLevel: 'silent',
      plugins: [isomorphicPlugin(), ...plugins],
    });
    const code = result.outputFiles.find((f) => f.path.endsWith('.js'));
    const map = result.outputFiles.find((f) => f.path.endsWith('.js.map'));
    if (!code || !map) throw new Error('esbuild produced no output');
    return { code: code.text, map: map.text, name, warnings: formatMessages(result.warnings) };
  } catch (e) {
    const errors = (e as Partial<BuildFailure>).errors;
    if (!errors) throw e;
    throw new Error(`browser bundle failed:\n${formatMessages(errors).join('\n')}`, { cause: e });
  }
}

/** test/crypto/**\/*.test.ts, sorted. */
export function findTestFiles(dir: string = cryptoTestDir): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(dir, f));
}

export interface TestBundle extends BrowserBundle {
  /** The test files, as the names results carry (relative to the repository root). */
  readonly files: readonly string[];
}

/**
 * Bundles test files into one module exporting the shim's `run` and `registered`. Before each file
 * is evaluated, the shim is told its name, so every test is attributed to its file and each file has
 * its own root suite (Node runs each file in its own process).
 */
export async function bundleTestSuite(files: readonly string[], options: BundleOptions = {}): Promise<TestBundle> {
  if (files.length === 0) throw new Error('bundleTestSuite: no test files');
  const names = files.map(show);
  const markers: Plugin = {
    name: 'examvault-test-file-markers',
    setup(b) {
      b.onResolve({ filter: /^examvault-test-file:/ }, (args) => ({ path: args.path.slice('examvault-test-file:'.length), namespace: 'test-file' }));
      b.onLoad({ filter: /.*/, namespace: 'test-file' }, (args) => ({
        contents: `import { __setFile } from ${JSON.stringify(shimPath)};\n__setFile(${JSON.stringify(args.path)});\n`,
        resolveDir: repoRoot,
        loader: 'js',
      }));
    },
  };
  const entry = [
    `import { __loaded } from ${JSON.stringify(shimPath)};`,
    `export { run, registered } from ${JSON.stringify(shimPath)};`,
    ...files.flatMap((f, i) => [`import ${JSON.stringify(`examvault-test-file:${names[i]}`)};`, `import ${JSON.stringify(f)};`]),
    // The entry's own code runs after every import has been evaluated.
    '__loaded();',
  ].join('\n');
  const bundle = await bundleWithPlugins({ contents: entry, resolveDir: repoRoot }, options, [markers]);
  return { ...bundle, files: names };
}

/**
 * Returns a function that rewrites `${url}:line:column` positions (in stacks from the page) to
 * positions in the original sources, through the bundle's source map.
 */
export function sourceMapper(bundle: BrowserBundle, url: string): (text: string) => string {
  const map = new SourceMap(JSON.parse(bundle.map) as ConstructorParameters<typeof SourceMap>[0]);
  const position = new RegExp(`${escape(url)}:(\\d+):(\\d+)`, 'g');
  return (text) =>
    text.replace(position, (whole, line: string, column: string) => {
      const entry = map.findEntry(Number(line) - 1, Number(column) - 1);
      if (!('originalSource' in entry) || !entry.originalSource) return whole;
      return `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    });
}
