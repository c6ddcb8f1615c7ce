/**
 * Reads the server's configuration once, at start: one optional JSON file and the `EXAMVAULT_*`
 * environment variables (a variable wins over the file's value for the same setting). Fills the
 * defaults, validates every value and returns a deeply frozen ServerConfig. Any problem throws a
 * ConfigError with a stable code and a hint saying how to fix it; main.ts prints those as `error:` /
 * `hint:` lines and exits 1 before anything listens. Nothing else in the server reads the
 * environment or the file. docs/DEPLOYMENT.md lists every setting.
 *
 * Relative paths are resolved against the directory of the file that names them, or against the
 * working directory for command-line and environment values, so the same file works from anywhere.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { ServerConfig, TlsConfig } from './config.types.js';
import { regionIds } from './regions/catalog.js';

export const configErrorCodes = [
  'EV_ERR_CONFIG_USAGE',
  'EV_ERR_CONFIG_FILE_NOT_FOUND',
  'EV_ERR_CONFIG_FILE_UNREADABLE',
  'EV_ERR_CONFIG_NOT_JSON',
  'EV_ERR_CONFIG_UNKNOWN_KEY',
  'EV_ERR_CONFIG_INVALID',
  'EV_ERR_CONFIG_TLS_UNREADABLE',
  'EV_ERR_CONFIG_TLS_INVALID',
] as const;

export type ConfigErrorCode = (typeof configErrorCodes)[number];

/** A configuration the server refuses to start with: what is wrong, and what to do about it. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly hint: string;

  constructor(code: ConfigErrorCode, message: string, hint: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = code;
    this.hint = hint;
  }
}

export interface LoadConfigInput {
  /** Command-line arguments after the script name (`process.argv.slice(2)`); only `--config` is known. */
  readonly argv?: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export const DEFAULT_CONFIG_FILE = 'examvault.config.json';

export const defaults = Object.freeze({
  dataDir: '.examvault',
  host: 'localhost',
  port: 8443,
  regions: regionIds,
  hstsMaxAgeSeconds: 365 * 24 * 60 * 60,
  attemptCredentialTtlSeconds: 6 * 60 * 60,
  logLevel: 'info',
} as const);

/** Accepted ranges, inclusive. */
export const limits = Object.freeze({
  port: [1, 65535],
  // 0 withdraws HSTS (only to migrate away from this origin); two years is the HSTS preload value.
  hstsMaxAgeSeconds: [0, 2 * 365 * 24 * 60 * 60],
  // An attempt credential must outlive the longest exam (with extra time) but not much more.
  attemptCredentialTtlSeconds: [5 * 60, 48 * 60 * 60],
} as const);

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const tlsModes = ['self-signed', 'files', 'proxy'] as const;

/** Every environment variable the server reads, with the setting it sets. */
export const environmentVariables = Object.freeze({
  EXAMVAULT_CONFIG: 'path of the JSON configuration file',
  EXAMVAULT_DATA_DIR: 'dataDir',
  EXAMVAULT_HOST: 'host',
  EXAMVAULT_PORT: 'port',
  EXAMVAULT_TLS_MODE: 'tls.mode',
  EXAMVAULT_TLS_CERT: 'tls.certPath',
  EXAMVAULT_TLS_KEY: 'tls.keyPath',
  EXAMVAULT_PUBLIC_ORIGIN: 'publicOrigin',
  EXAMVAULT_REGIONS: 'regions',
  EXAMVAULT_HSTS_MAX_AGE: 'hstsMaxAgeSeconds',
  EXAMVAULT_ATTEMPT_CREDENTIAL_TTL: 'attemptCredentialTtlSeconds',
  EXAMVAULT_LOG_LEVEL: 'logLevel',
} as const);

/** `EXAMVAULT_*` variables that belong to the `examvault` CLI, not to the server. */
const cliVariables = new Set(['EXAMVAULT_PASSPHRASE']);

/**
 * `EXAMVAULT_*` variables that are set but mean nothing to the server: most likely a typo
 * (`EXAMVAULT_TLS_MOD`). They are not errors, because the CLI reads its own variables from the same
 * environment; main.ts prints a warning for each.
 */
export function unrecognizedEnvironment(env: LoadConfigInput['env']): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('EXAMVAULT_') && !(name in environmentVariables) && !cliVariables.has(name))
    .sort();
}

const fileKeys = new Set(['dataDir', 'host', 'port', 'tls', 'publicOrigin', 'regions', 'hstsMaxAgeSeconds', 'attemptCredentialTtlSeconds', 'logLevel']);
const fileTlsKeys = new Set(['mode', 'certPath', 'keyPath']);

/** A raw value and where it came from, so an error can name the exact place to fix. */
interface Setting<T> {
  readonly value: T;
  /** e.g. `EXAMVAULT_PORT` or `"port" in /etc/examvault/examvault.config.json`. */
  readonly source: string;
  /** Directory relative paths in this value are resolved against. */
  readonly base: string;
}

interface Layer {
  dataDir?: Setting<unknown>;
  host?: Setting<unknown>;
  port?: Setting<unknown>;
  tlsMode?: Setting<unknown>;
  tlsCert?: Setting<unknown>;
  tlsKey?: Setting<unknown>;
  publicOrigin?: Setting<unknown>;
  regions?: Setting<unknown>;
  hstsMaxAgeSeconds?: Setting<unknown>;
  attemptCredentialTtlSeconds?: Setting<unknown>;
  logLevel?: Setting<unknown>;
}

const docsHint = 'docs/DEPLOYMENT.md lists every setting and its allowed values';

/**
 * Loads, validates and freezes the configuration.
 *
 * @example
 * const config = loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
 */
export function loadConfig(input: LoadConfigInput): ServerConfig {
  const { env, cwd } = input;
  const fromArgv = configPathFromArgv(input.argv ?? []);
  const fromEnv = nonEmpty(env.EXAMVAULT_CONFIG);
  const explicit = fromArgv ?? fromEnv;
  const filePath = explicit !== undefined ? resolve(cwd, explicit) : resolve(cwd, DEFAULT_CONFIG_FILE);
  const file = readConfigFile(filePath, explicit !== undefined, fromArgv !== undefined ? '--config' : 'EXAMVAULT_CONFIG');
  const merged: Layer = { ...file, ...environmentLayer(env, cwd) };

  // An environment TLS mode replaces the file's TLS section as a whole, paths included.
  if (env.EXAMVAULT_TLS_MODE && file.tlsMode) {
    if (!nonEmpty(env.EXAMVAULT_TLS_CERT)) delete merged.tlsCert;
    if (!nonEmpty(env.EXAMVAULT_TLS_KEY)) delete merged.tlsKey;
  }

  const host = merged.host ? hostname(merged.host) : defaults.host;
  const port = merged.port ? integer(merged.port, limits.port) : defaults.port;
  const tls = tlsConfig(merged, host);
  const config: ServerConfig = {
    dataDir: merged.dataDir ? path(merged.dataDir) : resolve(cwd, defaults.dataDir),
    host,
    port,
    tls,
    publicOrigin: merged.publicOrigin ? origin(merged.publicOrigin) : defaultOrigin(tls, host, port),
    regions: merged.regions ? regions(merged.regions) : [...defaults.regions],
    hstsMaxAgeSeconds: merged.hstsMaxAgeSeconds ? integer(merged.hstsMaxAgeSeconds, limits.hstsMaxAgeSeconds) : defaults.hstsMaxAgeSeconds,
    attemptCredentialTtlSeconds: merged.attemptCredentialTtlSeconds
      ? integer(merged.attemptCredentialTtlSeconds, limits.attemptCredentialTtlSeconds)
      : defaults.attemptCredentialTtlSeconds,
    logLevel: merged.logLevel ? oneOf(merged.logLevel, logLevels) : defaults.logLevel,
  };
  return deepFreeze(config);
}

function configPathFromArgv(argv: readonly string[]): string | undefined {
  const usageHint = 'the server takes one option, --config <file>; every other setting goes in that file or an EXAMVAULT_* variable (docs/DEPLOYMENT.md)';
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    let value: string | undefined;
    if (arg === '--config') {
      value = argv[++i];
      if (value === undefined || value.startsWith('-')) throw new ConfigError('EV_ERR_CONFIG_USAGE', '--config needs a file path', usageHint);
    } else if (arg.startsWith('--config=')) {
      value = arg.slice('--config='.length);
    } else {
      throw new ConfigError('EV_ERR_CONFIG_USAGE', `unknown argument ${JSON.stringify(arg)}`, usageHint);
    }
    if (value === '') throw new ConfigError('EV_ERR_CONFIG_USAGE', '--config needs a file path', usageHint);
    if (found !== undefined) throw new ConfigError('EV_ERR_CONFIG_USAGE', '--config given more than once', usageHint);
    found = value;
  }
  return found;
}

function readConfigFile(filePath: string, required: boolean, namedBy: string): Layer {
  let text: string;
  try {
    text = readFileSync(filePath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required) return {};
    if (code === 'ENOENT') {
      throw new ConfigError('EV_ERR_CONFIG_FILE_NOT_FOUND', `configuration file ${filePath} (from ${namedBy}) does not exist`, `check the path given by ${namedBy}, or drop ${namedBy} to run on defaults and environment variables`);
    }
    throw new ConfigError('EV_ERR_CONFIG_FILE_UNREADABLE', `cannot read configuration file ${filePath}: ${code ?? String(err)}`, 'make the file readable by the user running the server (it holds no secrets: 0644 is fine)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError('EV_ERR_CONFIG_NOT_JSON', `configuration file ${filePath} is not valid JSON: ${(err as Error).message}`, 'the file must hold one JSON object, e.g. {"port": 8443}; comments and trailing commas are not JSON');
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigError('EV_ERR_CONFIG_NOT_JSON', `configuration file ${filePath} must hold a JSON object`, 'write the settings as one object, e.g. {"port": 8443}');
  }

  const base = dirname(filePath);
  const at = (key: string): Setting<unknown> => ({ value: parsed[key], source: `"${key}" in ${filePath}`, base });
  for (const key of Object.keys(parsed)) {
    if (!fileKeys.has(key)) throw unknownKey(key, filePath, [...fileKeys]);
  }
  const layer: Layer = {};
  for (const key of ['dataDir', 'host', 'port', 'publicOrigin', 'regions', 'hstsMaxAgeSeconds', 'attemptCredentialTtlSeconds', 'logLevel'] as const) {
    if (key in parsed) layer[key] = at(key);
  }
  if ('tls' in parsed) {
    const tls = parsed.tls;
    if (!isPlainObject(tls)) {
      throw invalid(`"tls" in ${filePath} must be an object`, 'e.g. "tls": {"mode": "files", "certPath": "fullchain.pem", "keyPath": "privkey.pem"}');
    }
    for (const key of Object.keys(tls)) {
      if (!fileTlsKeys.has(key)) throw unknownKey(`tls.${key}`, filePath, [...fileTlsKeys].map((k) => `tls.${k}`));
    }
    if (!('mode' in tls)) throw invalid(`"tls" in ${filePath} has no "mode"`, `set "mode" to one of ${tlsModes.join(', ')}`);
    layer.tlsMode = { value: tls.mode, source: `"tls.mode" in ${filePath}`, base };
    if ('certPath' in tls) layer.tlsCert = { value: tls.certPath, source: `"tls.certPath" in ${filePath}`, base };
    if ('keyPath' in tls) layer.tlsKey = { value: tls.keyPath, source: `"tls.keyPath" in ${filePath}`, base };
  }
  return layer;
}

function environmentLayer(env: LoadConfigInput['env'], cwd: string): Layer {
  const layer: Layer = {};
  const read = (name: keyof typeof environmentVariables): Setting<unknown> | undefined => {
    const value = nonEmpty(env[name]);
    return value === undefined ? undefined : { value, source: name, base: cwd };
  };
  const set = (key: keyof Layer, name: keyof typeof environmentVariables, convert?: (s: Setting<unknown>) => Setting<unknown>): void => {
    const s = read(name);
    if (s) layer[key] = convert ? convert(s) : s;
  };
  const asInteger = (s: Setting<unknown>): Setting<unknown> => {
    const text = (s.value as string).trim();
    // Strict: "8443abc", "8e3" and "0x20FB" are mistakes, not numbers.
    return { ...s, value: /^\d{1,15}$/.test(text) ? Number(text) : s.value };
  };
  const asList = (s: Setting<unknown>): Setting<unknown> => ({ ...s, value: (s.value as string).split(',').map((r) => r.trim()) });

  set('dataDir', 'EXAMVAULT_DATA_DIR');
  set('host', 'EXAMVAULT_HOST');
  set('port', 'EXAMVAULT_PORT', asInteger);
  set('tlsMode', 'EXAMVAULT_TLS_MODE');
  set('tlsCert', 'EXAMVAULT_TLS_CERT');
  set('tlsKey', 'EXAMVAULT_TLS_KEY');
  set('publicOrigin', 'EXAMVAULT_PUBLIC_ORIGIN');
  set('regions', 'EXAMVAULT_REGIONS', asList);
  set('hstsMaxAgeSeconds', 'EXAMVAULT_HSTS_MAX_AGE', asInteger);
  set('attemptCredentialTtlSeconds', 'EXAMVAULT_ATTEMPT_CREDENTIAL_TTL', asInteger);
  set('logLevel', 'EXAMVAULT_LOG_LEVEL');
  return layer;
}

function tlsConfig(merged: Layer, host: string): TlsConfig {
  const mode = merged.tlsMode ? oneOf(merged.tlsMode, tlsModes) : 'self-signed';
  if (mode === 'files') {
    if (!merged.tlsCert || !merged.tlsKey) {
      const source = merged.tlsMode?.source ?? 'the TLS mode';
      throw invalid(`${source} is "files" but the certificate or key path is missing`, 'set both EXAMVAULT_TLS_CERT and EXAMVAULT_TLS_KEY (or "tls.certPath" and "tls.keyPath" in the file) to PEM files');
    }
    return { mode, certPath: path(merged.tlsCert), keyPath: path(merged.tlsKey) };
  }
  const stray = merged.tlsCert ?? merged.tlsKey;
  if (stray) {
    throw invalid(`${stray.source} is set but the TLS mode is "${mode}", which does not use certificate files`, 'to serve your own certificate set EXAMVAULT_TLS_MODE=files; otherwise remove the path');
  }
  if (mode === 'proxy' && !isLoopback(host)) {
    throw invalid(`TLS mode "proxy" serves plain HTTP, so it must listen on a loopback address, not ${JSON.stringify(host)}`, 'set EXAMVAULT_HOST=127.0.0.1 (or ::1) and let the TLS-terminating proxy on the same machine connect to it');
  }
  return { mode };
}

function defaultOrigin(tls: TlsConfig, host: string, port: number): string {
  if (tls.mode === 'proxy') {
    throw invalid('TLS mode "proxy" needs the public origin browsers use', 'set EXAMVAULT_PUBLIC_ORIGIN to the https:// origin the proxy serves, e.g. https://exams.example.edu');
  }
  const wildcard = host === '0.0.0.0' || host === '::';
  const name = wildcard ? 'localhost' : isIP(host) === 6 ? `[${host}]` : host;
  return port === 443 ? `https://${name}` : `https://${name}:${port}`;
}

// Validators: each takes a raw setting and returns a clean value or throws naming the setting.

function string(s: Setting<unknown>): string {
  if (typeof s.value !== 'string' || s.value.trim() === '') throw invalid(`${s.source} must be a non-empty string`, docsHint);
  return s.value.trim();
}

function path(s: Setting<unknown>): string {
  return resolve(s.base, string(s));
}

function integer(s: Setting<unknown>, [min, max]: readonly [number, number]): number {
  const v = s.value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalid(`${s.source} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, docsHint);
  }
  return v;
}

function oneOf<T extends string>(s: Setting<unknown>, allowed: readonly T[]): T {
  if (typeof s.value !== 'string' || !(allowed as readonly string[]).includes(s.value)) {
    throw invalid(`${s.source} must be one of ${allowed.join(', ')}, got ${JSON.stringify(s.value)}`, docsHint);
  }
  return s.value as T;
}

const hostnamePattern = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function hostname(s: Setting<unknown>): string {
  const host = string(s);
  if (isIP(host) === 0 && !hostnamePattern.test(host)) {
    throw invalid(`${s.source} must be a host name or an IP address, got ${JSON.stringify(host)}`, 'e.g. localhost, 127.0.0.1, ::1 or 0.0.0.0 (an IPv6 address goes without brackets)');
  }
  return host;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function origin(s: Setting<unknown>): string {
  const text = string(s);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`${s.source} must be an https:// origin, got ${JSON.stringify(text)}`, 'e.g. https://exams.example.edu or https://localhost:8443');
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.pathname !== '/' || url.search || url.hash || /[?#]$/.test(text)) {
    throw invalid(
      `${s.source} must be an https:// origin (scheme, host and optional port; no path, query or credentials), got ${JSON.stringify(text)}`,
      'ExamVault is served over HTTPS only; e.g. https://exams.example.edu',
    );
  }
  return url.origin;
}

function regions(s: Setting<unknown>): string[] {
  const v = s.value;
  const catalog = regionIds.join(', ');
  if (!Array.isArray(v) || v.length === 0) throw invalid(`${s.source} must list at least one region`, `choose from ${catalog}`);
  const seen = new Set<string>();
  for (const r of v) {
    if (typeof r !== 'string' || !regionIds.includes(r)) throw invalid(`${s.source}: unknown region ${JSON.stringify(r)}`, `choose from ${catalog}`);
    if (seen.has(r)) throw invalid(`${s.source}: region ${JSON.stringify(r)} is listed twice`, 'list each region once');
    seen.add(r);
  }
  return [...seen];
}

function invalid(message: string, hint: string): ConfigError {
  return new ConfigError('EV_ERR_CONFIG_INVALID', message, hint);
}

function unknownKey(key: string, filePath: string, known: readonly string[]): ConfigError {
  return new ConfigError('EV_ERR_CONFIG_UNKNOWN_KEY', `unknown setting "${key}" in ${filePath}`, `known settings: ${known.join(', ')} (a misspelt setting would otherwise be silently ignored)`);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
