/**
 * loadConfig: defaults, where the file comes from, environment over file, path resolution, deep
 * freezing, and for every kind of invalid input a ConfigError with a stable code, the place to fix
 * and a hint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, type ConfigErrorCode, type LoadConfigInput, configErrorCodes, loadConfig, unrecognizedEnvironment } from '../../../src/server/config.js';
import { findRegion, regionCatalog, regionIds } from '../../../src/server/regions/catalog.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ev-config-'));
}

function withFile(content: unknown, name = 'examvault.config.json'): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return { dir, file };
}

function configError(input: LoadConfigInput, code: ConfigErrorCode, mentions?: RegExp): ConfigError {
  let caught: unknown;
  try {
    loadConfig(input);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.ok(configErrorCodes.includes(caught.code));
  assert.ok(caught.message.length > 0);
  assert.ok(caught.hint.length > 10, 'a hint that says what to do');
  if (mentions) assert.match(caught.message, mentions);
  return caught;
}

describe('loadConfig: defaults', () => {
  it('runs on defaults with no file and no environment', () => {
    const cwd = tempDir();
    assert.deepEqual(loadConfig({ env: {}, cwd }), {
      dataDir: join(cwd, '.examvault'),
      host: 'localhost',
      port: 8443,
      tls: { mode: 'self-signed' },
      publicOrigin: 'https://localhost:8443',
      regions: ['us', 'ca', 'eu', 'me', 'au'],
      hstsMaxAgeSeconds: 31536000,
      attemptCredentialTtlSeconds: 21600,
      logLevel: 'info',
    });
  });

  it('returns a deeply frozen configuration', () => {
    const config = loadConfig({ env: {}, cwd: tempDir() });
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.tls));
    assert.ok(Object.isFrozen(config.regions));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => (config.regions as string[]).push('xx'), TypeError);
  });

  it('derives the public origin from host and port', () => {
    const cwd = tempDir();
    const origin = (env: Record<string, string>) => loadConfig({ env, cwd }).publicOrigin;
    assert.equal(origin({ EXAMVAULT_PORT: '443' }), 'https://localhost');
    assert.equal(origin({ EXAMVAULT_HOST: '0.0.0.0', EXAMVAULT_PORT: '9443' }), 'https://localhost:9443');
    assert.equal(origin({ EXAMVAULT_HOST: '::1' }), 'https://[::1]:8443');
    assert.equal(origin({ EXAMVAULT_HOST: 'exams.example.edu' }), 'https://exams.example.edu:8443');
    assert.equal(origin({ EXAMVAULT_PUBLIC_ORIGIN: 'HTTPS://Exams.Example.EDU:443/' }), 'https://exams.example.edu');
  });
});

describe('loadConfig: sources', () => {
  const fileSettings = {
    dataDir: 'data',
    host: '127.0.0.1',
    port: 9443,
    tls: { mode: 'files', certPath: 'tls/fullchain.pem', keyPath: 'tls/privkey.pem' },
    publicOrigin: 'https://exams.example.edu',
    regions: ['eu'],
    hstsMaxAgeSeconds: 600,
    attemptCredentialTtlSeconds: 3600,
    logLevel: 'warn',
  };

  it('reads examvault.config.json from the working directory, resolving paths against its directory', () => {
    const { dir } = withFile(fileSettings);
    assert.deepEqual(loadConfig({ env: {}, cwd: dir }), {
      ...fileSettings,
      dataDir: join(dir, 'data'),
      tls: { mode: 'files', certPath: join(dir, 'tls/fullchain.pem'), keyPath: join(dir, 'tls/privkey.pem') },
    });
  });

  it('takes the file from --config, then EXAMVAULT_CONFIG', () => {
    const a = withFile({ port: 1111 }, 'a.json');
    const b = withFile({ port: 2222 }, 'b.json');
    const cwd = withFile({ port: 3333 }).dir;
    assert.equal(loadConfig({ env: {}, cwd }).port, 3333);
    assert.equal(loadConfig({ env: { EXAMVAULT_CONFIG: b.file }, cwd }).port, 2222);
    assert.equal(loadConfig({ argv: ['--config', a.file], env: { EXAMVAULT_CONFIG: b.file }, cwd }).port, 1111);
    assert.equal(loadConfig({ argv: [`--config=${a.file}`], env: {}, cwd }).port, 1111);
    // Relative to the working directory.
    assert.equal(loadConfig({ argv: ['--config', 'a.json'], env: {}, cwd: a.dir }).port, 1111);
  });

  it('lets every environment variable win over the file', () => {
    const { dir } = withFile(fileSettings);
    const cwd = tempDir();
    const config = loadConfig({
      argv: ['--config', join(dir, 'examvault.config.json')],
      cwd,
      env: {
        EXAMVAULT_DATA_DIR: 'elsewhere',
        EXAMVAULT_HOST: '::1',
        EXAMVAULT_PORT: '10443',
        EXAMVAULT_TLS_CERT: '/etc/ssl/ev.pem',
        EXAMVAULT_PUBLIC_ORIGIN: 'https://other.example.edu',
        EXAMVAULT_REGIONS: 'us, ca',
        EXAMVAULT_HSTS_MAX_AGE: '63072000',
        EXAMVAULT_ATTEMPT_CREDENTIAL_TTL: '7200',
        EXAMVAULT_LOG_LEVEL: 'debug',
      },
    });
    assert.deepEqual(config, {
      dataDir: join(cwd, 'elsewhere'),
      host: '::1',
      port: 10443,
      // The file's mode and key path stay; the environment's certificate path wins.
      tls: { mode: 'files', certPath: '/etc/ssl/ev.pem', keyPath: join(dir, 'tls/privkey.pem') },
      publicOrigin: 'https://other.example.edu',
      regions: ['us', 'ca'],
      hstsMaxAgeSeconds: 63072000,
      attemptCredentialTtlSeconds: 7200,
      logLevel: 'debug',
    });
  });

  it('replaces the file\'s whole TLS section when the environment sets the mode', () => {
    const { dir } = withFile(fileSettings);
    assert.deepEqual(loadConfig({ env: { EXAMVAULT_TLS_MODE: 'self-signed' }, cwd: dir }).tls, { mode: 'self-signed' });
  });

  it('reads files mode and proxy mode from the environment', () => {
    const cwd = tempDir();
    assert.deepEqual(loadConfig({ env: { EXAMVAULT_TLS_MODE: 'files', EXAMVAULT_TLS_CERT: 'c.pem', EXAMVAULT_TLS_KEY: '/k.pem' }, cwd }).tls, {
      mode: 'files',
      certPath: join(cwd, 'c.pem'),
      keyPath: '/k.pem',
    });
    const proxy = loadConfig({ env: { EXAMVAULT_TLS_MODE: 'proxy', EXAMVAULT_HOST: '127.0.0.1', EXAMVAULT_PORT: '8080', EXAMVAULT_PUBLIC_ORIGIN: 'https://exams.example.edu' }, cwd });
    assert.deepEqual(proxy.tls, { mode: 'proxy' });
    assert.equal(proxy.publicOrigin, 'https://exams.example.edu');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ env: { EXAMVAULT_PORT: '', EXAMVAULT_REGIONS: '  ', EXAMVAULT_CONFIG: '' }, cwd: tempDir() });
    assert.equal(config.port, 8443);
    assert.equal(config.regions.length, 5);
  });
});

describe('loadConfig: refuses', () => {
  const cwd = tempDir();
  const env = (vars: Record<string, string>): LoadConfigInput => ({ env: vars, cwd });
  const file = (content: unknown): LoadConfigInput => ({ env: {}, cwd: withFile(content).dir });

  const cases: [string, LoadConfigInput, ConfigErrorCode, RegExp?][] = [
    ['an unknown argument', { argv: ['--port', '1'], env: {}, cwd }, 'EV_ERR_CONFIG_USAGE', /--port/],
    ['--config without a path', { argv: ['--config'], env: {}, cwd }, 'EV_ERR_CONFIG_USAGE'],
    ['--config twice', { argv: ['--config=a', '--config=b'], env: {}, cwd }, 'EV_ERR_CONFIG_USAGE'],
    ['a named file that does not exist', { argv: ['--config', 'missing.json'], env: {}, cwd }, 'EV_ERR_CONFIG_FILE_NOT_FOUND', /missing\.json/],
    ['EXAMVAULT_CONFIG naming a missing file', env({ EXAMVAULT_CONFIG: '/nonexistent/ev.json' }), 'EV_ERR_CONFIG_FILE_NOT_FOUND', /EXAMVAULT_CONFIG/],
    // A directory where the file should be: reading fails (EISDIR), but not because it is missing.
    ['a file that cannot be read', env({ EXAMVAULT_CONFIG: tmpdir() }), 'EV_ERR_CONFIG_FILE_UNREADABLE'],
    ['a file that is not JSON', file('{ port: 8443, }'), 'EV_ERR_CONFIG_NOT_JSON'],
    ['a file that is not an object', file([1, 2]), 'EV_ERR_CONFIG_NOT_JSON'],
    ['an unknown key in the file', file({ prot: 8443 }), 'EV_ERR_CONFIG_UNKNOWN_KEY', /"prot"/],
    ['an unknown TLS key in the file', file({ tls: { mode: 'files', cert: 'a.pem' } }), 'EV_ERR_CONFIG_UNKNOWN_KEY', /tls\.cert/],
    ['a TLS section that is not an object', file({ tls: 'files' }), 'EV_ERR_CONFIG_INVALID', /"tls"/],
    ['a TLS section without a mode', file({ tls: {} }), 'EV_ERR_CONFIG_INVALID', /mode/],
    ['port 0', env({ EXAMVAULT_PORT: '0' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_PORT/],
    ['port 65536', env({ EXAMVAULT_PORT: '65536' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_PORT/],
    ['a port that is not a number', env({ EXAMVAULT_PORT: 'https' }), 'EV_ERR_CONFIG_INVALID'],
    ['a port with trailing junk', env({ EXAMVAULT_PORT: '8443abc' }), 'EV_ERR_CONFIG_INVALID'],
    ['a port in hexadecimal', env({ EXAMVAULT_PORT: '0x20FB' }), 'EV_ERR_CONFIG_INVALID'],
    ['a port given as a string in the file', file({ port: '8443' }), 'EV_ERR_CONFIG_INVALID', /"port" in/],
    ['a fractional port in the file', file({ port: 8443.5 }), 'EV_ERR_CONFIG_INVALID'],
    ['a host with brackets', env({ EXAMVAULT_HOST: '[::1]' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_HOST/],
    ['a host with a scheme', env({ EXAMVAULT_HOST: 'https://localhost' }), 'EV_ERR_CONFIG_INVALID'],
    ['an unknown TLS mode', env({ EXAMVAULT_TLS_MODE: 'none' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_TLS_MODE/],
    ['files mode without a key', env({ EXAMVAULT_TLS_MODE: 'files', EXAMVAULT_TLS_CERT: 'c.pem' }), 'EV_ERR_CONFIG_INVALID'],
    ['a certificate without files mode', env({ EXAMVAULT_TLS_CERT: 'c.pem' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_TLS_CERT/],
    ['proxy mode on a public address', env({ EXAMVAULT_TLS_MODE: 'proxy', EXAMVAULT_HOST: '0.0.0.0', EXAMVAULT_PUBLIC_ORIGIN: 'https://a.example' }), 'EV_ERR_CONFIG_INVALID', /loopback/],
    ['proxy mode on the default host name of another machine', env({ EXAMVAULT_TLS_MODE: 'proxy', EXAMVAULT_HOST: 'exams.example.edu', EXAMVAULT_PUBLIC_ORIGIN: 'https://a.example' }), 'EV_ERR_CONFIG_INVALID', /loopback/],
    ['proxy mode without a public origin', env({ EXAMVAULT_TLS_MODE: 'proxy', EXAMVAULT_HOST: '127.0.0.1' }), 'EV_ERR_CONFIG_INVALID', /public origin/],
    ['an http public origin', env({ EXAMVAULT_PUBLIC_ORIGIN: 'http://exams.example.edu' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_PUBLIC_ORIGIN/],
    ['a public origin with a path', env({ EXAMVAULT_PUBLIC_ORIGIN: 'https://example.edu/exams' }), 'EV_ERR_CONFIG_INVALID'],
    ['a public origin with credentials', env({ EXAMVAULT_PUBLIC_ORIGIN: 'https://user:pw@example.edu' }), 'EV_ERR_CONFIG_INVALID'],
    ['a public origin with a query', env({ EXAMVAULT_PUBLIC_ORIGIN: 'https://example.edu?x' }), 'EV_ERR_CONFIG_INVALID'],
    ['a public origin that is not a URL', env({ EXAMVAULT_PUBLIC_ORIGIN: 'exams.example.edu' }), 'EV_ERR_CONFIG_INVALID'],
    ['a region outside the catalog', env({ EXAMVAULT_REGIONS: 'us,xx' }), 'EV_ERR_CONFIG_INVALID', /"xx"/],
    ['a region in capitals', env({ EXAMVAULT_REGIONS: 'EU' }), 'EV_ERR_CONFIG_INVALID'],
    ['a region listed twice', env({ EXAMVAULT_REGIONS: 'eu,us,eu' }), 'EV_ERR_CONFIG_INVALID', /twice/],
    ['an empty region in the list', env({ EXAMVAULT_REGIONS: 'eu,,us' }), 'EV_ERR_CONFIG_INVALID'],
    ['no regions in the file', file({ regions: [] }), 'EV_ERR_CONFIG_INVALID'],
    ['regions as a string in the file', file({ regions: 'eu' }), 'EV_ERR_CONFIG_INVALID'],
    ['a negative HSTS max-age', env({ EXAMVAULT_HSTS_MAX_AGE: '-1' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_HSTS_MAX_AGE/],
    ['an HSTS max-age over two years', env({ EXAMVAULT_HSTS_MAX_AGE: '63072001' }), 'EV_ERR_CONFIG_INVALID'],
    ['an attempt credential TTL under 5 minutes', env({ EXAMVAULT_ATTEMPT_CREDENTIAL_TTL: '60' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_ATTEMPT_CREDENTIAL_TTL/],
    ['an attempt credential TTL over 48 hours', file({ attemptCredentialTtlSeconds: 48 * 3600 + 1 }), 'EV_ERR_CONFIG_INVALID'],
    ['an unknown log level', env({ EXAMVAULT_LOG_LEVEL: 'verbose' }), 'EV_ERR_CONFIG_INVALID', /EXAMVAULT_LOG_LEVEL/],
    ['an empty data directory in the file', file({ dataDir: '' }), 'EV_ERR_CONFIG_INVALID', /dataDir/],
  ];
  for (const [what, input, code, mentions] of cases) {
    it(`${what}: ${code}`, () => {
      configError(input, code, mentions);
    });
  }

  it('names the file in file errors', () => {
    const { dir, file: path } = withFile({ port: 0 });
    const err = configError({ env: {}, cwd: dir }, 'EV_ERR_CONFIG_INVALID');
    assert.ok(err.message.includes(path));
  });
});

describe('unrecognizedEnvironment', () => {
  it('flags a misspelt server variable but not the CLI\'s own', () => {
    assert.deepEqual(
      unrecognizedEnvironment({ EXAMVAULT_TLS_MOD: 'files', EXAMVAULT_PORT: '1', EXAMVAULT_PASSPHRASE: 'x', HOME: '/root', EXAMVAULT_CONFIG: 'a' }),
      ['EXAMVAULT_TLS_MOD'],
    );
  });
});

describe('region catalog', () => {
  it('lists us, ca, eu, me, au with display names, frozen', () => {
    assert.deepEqual(regionIds, ['us', 'ca', 'eu', 'me', 'au']);
    assert.ok(Object.isFrozen(regionCatalog));
    for (const region of regionCatalog) {
      assert.ok(Object.isFrozen(region));
      assert.match(region.id, /^[a-z0-9-]{2,16}$/, 'the sealed format\'s region rule');
      assert.ok(region.name.length > 0);
    }
    assert.equal(findRegion('eu')?.name, 'European Union');
    assert.equal(findRegion('xx'), undefined);
  });
});
