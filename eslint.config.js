// Lint enforces the architecture: dependencies point crypto <- protocol <- server / web / cli,
// and the isomorphic crypto core never reaches Node or any I/O.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const nodeOnly = [
  { group: ['node:*'], message: 'src/crypto is isomorphic: use WebCrypto and Web Streams only.' },
  { group: ['fs', 'path', 'os', 'crypto', 'stream', 'buffer', 'child_process', 'http', 'https', 'net', 'tls', 'zlib', 'worker_threads'], message: 'src/crypto is isomorphic: no Node built-ins.' },
  { group: ['commander', 'fastify', 'kysely', 'pg', 'better-sqlite3', '@aws-sdk/*', 'pino'], message: 'src/crypto does no I/O.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', '.examvault/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['scripts/**', 'bench/**', 'test/**', 'src/cli/**', 'src/server/**', '*.js', '.ci/**'],
    languageOptions: { globals: globals.node },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/crypto/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...nodeOnly,
          { group: ['../protocol/*', '../server/*', '../cli/*', '../web/*'], message: 'src/crypto depends on nothing else in the project.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'src/crypto is isomorphic.' },
        { name: 'Buffer', message: 'src/crypto is isomorphic: use Uint8Array.' },
        { name: 'fetch', message: 'src/crypto does no I/O.' },
      ],
    },
  },
  {
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          ...nodeOnly,
          { group: ['../server/*', '../cli/*', '../web/*'], message: 'src/protocol is shared by server, web and CLI.' },
        ],
      }],
    },
  },
  {
    // The browser apps: browser globals only; they reach the server through its HTTP API, never its code.
    files: ['src/web/**/*.ts'],
    languageOptions: { globals: globals.browser },
    rules: {
      'no-restricted-imports': ['error', {
        // Exact names: a pattern like `crypto` would also match the path ../../crypto/index.js.
        paths: nodeOnly[1].group.map((name) => ({ name, message: 'src/web runs in browsers: no Node built-ins.' })),
        patterns: [
          { group: ['node:*'], message: 'src/web runs in browsers: no Node built-ins.' },
          { group: ['**/server/**', '**/cli/**'], message: 'src/web imports only src/crypto and src/protocol; it talks to the server over HTTP.' },
        ],
      }],
      'no-restricted-globals': ['error', { name: 'Buffer', message: 'src/web runs in browsers: use Uint8Array.' }],
    },
  },
  {
    // Operator commands (src/cli/operator) act on a server's data directory and may use its services;
    // every other command works on files alone.
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/operator/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/server/**', '**/web/**'], message: 'only src/cli/operator may reach into the server.' }],
      }],
    },
  },
  {
    // Heavy drivers stay inside their adapter: feature code sees Kysely and BlobStore only.
    files: ['src/server/**/*.ts'],
    ignores: ['src/server/db/dialect.*.ts', 'src/server/storage/blob-store.s3.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['better-sqlite3', 'pg'], message: 'database drivers live in src/server/db/dialect.*.ts only.' },
          { group: ['@aws-sdk/*'], message: 'the S3 SDK lives in src/server/storage/blob-store.s3.ts only.' },
          { group: ['**/web/**', '**/cli/**'], message: 'the server does not import the web apps or the CLI.' },
        ],
      }],
    },
  },
);
