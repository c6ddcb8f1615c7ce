#!/usr/bin/env node
/**
 * `npm start`: the ExamVault server. Reads the configuration once (config.ts), gets the certificate
 * (generated for localhost, or the operator's files), opens the services, builds the app and listens
 * over HTTPS, or over plain HTTP on loopback in proxy mode. SIGINT / SIGTERM close it gracefully:
 * in-flight requests finish, then the services close.
 *
 * A failure before listening prints one `error:` line with a stable code and one `hint:` line on
 * stderr and exits 1 (docs/errors.md, "Server configuration"); nothing is half-started.
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig, unrecognizedEnvironment } from './config.js';
import type { ServerConfig } from './config.types.js';
import { type Services, openServices } from './services.js';
import { loadCertificateFiles } from './tls/certificate-files.js';
import { ensureLocalCertificate } from './tls/local-certificate.js';
import type { ServerCertificate } from './tls/server-certificate.js';
import { tlsOptions } from './tls/tls-options.js';

/** Failures of the start itself (not of the configuration), each with a fix to suggest. */
class StartError extends Error {
  constructor(
    readonly code: 'EV_ERR_SERVER_DATA_DIR' | 'EV_ERR_SERVER_LISTEN' | 'EV_ERR_SERVER_INTERNAL',
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

const usage = `usage: examvault-server [--config <file>]

Serves ExamVault over HTTPS. Settings come from a JSON file (--config, EXAMVAULT_CONFIG, or
./examvault.config.json when present) and EXAMVAULT_* environment variables, which win over the file.
See docs/DEPLOYMENT.md.
`;

const SHUTDOWN_GRACE_MS = 10_000;

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  for (const name of unrecognizedEnvironment(process.env)) {
    process.stderr.write(`warning: ${name} is not an ExamVault server setting and is ignored (docs/DEPLOYMENT.md lists them)\n`);
  }

  let services: Services | undefined;
  try {
    const config = loadConfig({ argv, env: process.env, cwd: process.cwd() });
    const certificate = await obtainCertificate(config);
    services = await openServices(config);
    const app = buildApp(config, services, certificate ? { https: tlsOptions(certificate) } : {});
    await listen(app, config);
    announce(app, config, certificate);
    handleSignals(app, services);
    return 0;
  } catch (err) {
    await services?.close().catch(() => {});
    return fail(err);
  }
}

async function obtainCertificate(config: ServerConfig): Promise<(ServerCertificate & { created?: boolean }) | null> {
  switch (config.tls.mode) {
    case 'proxy':
      return null;
    case 'files':
      return loadCertificateFiles(config.tls.certPath, config.tls.keyPath);
    case 'self-signed':
      try {
        return await ensureLocalCertificate(config.dataDir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        throw new StartError('EV_ERR_SERVER_DATA_DIR', `cannot write the local certificate under ${config.dataDir}: ${code}`, 'make the data directory (EXAMVAULT_DATA_DIR) writable by the user running ExamVault, or point it elsewhere');
      }
  }
}

async function listen(app: ReturnType<typeof buildApp>, config: ServerConfig): Promise<void> {
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close().catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${config.host}:${config.port}`;
    const hints: Record<string, [string, string]> = {
      EADDRINUSE: [`cannot listen on ${where}: the port is in use`, 'stop the other process (another ExamVault?) or choose a free port with EXAMVAULT_PORT'],
      EACCES: [`cannot listen on ${where}: permission denied`, 'ports below 1024 need privileges: use a port such as 8443, or put a TLS proxy in front (docs/DEPLOYMENT.md)'],
      EADDRNOTAVAIL: [`cannot listen on ${where}: the address is not on this machine`, 'set EXAMVAULT_HOST to one of this machine\'s addresses, e.g. localhost or 0.0.0.0'],
      ENOTFOUND: [`cannot listen on ${where}: the host name does not resolve`, 'set EXAMVAULT_HOST to a name this machine resolves, or to an IP address'],
    };
    const [message, hint] = (code !== undefined ? hints[code] : undefined) ?? [`cannot listen on ${where}: ${(err as Error).message}`, 'check EXAMVAULT_HOST and EXAMVAULT_PORT'];
    throw new StartError('EV_ERR_SERVER_LISTEN', message, hint);
  }
}

function announce(app: ReturnType<typeof buildApp>, config: ServerConfig, certificate: (ServerCertificate & { created?: boolean }) | null): void {
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const scheme = certificate ? 'https' : 'http';
  const lines = [`ExamVault listening on ${scheme}://${host}:${port}`];
  if (config.tls.mode === 'proxy') lines.push(`  behind a TLS proxy; public origin ${config.publicOrigin}`);
  if (certificate) {
    const kind = config.tls.mode === 'self-signed' ? `self-signed for localhost${certificate.created ? ', created now' : ''}` : 'from files';
    lines.push(`  certificate: ${certificate.certPath} (${kind}; valid until ${certificate.notAfter.toISOString().slice(0, 10)})`);
    lines.push(`  SHA-256 fingerprint: ${certificate.fingerprint256}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function handleSignals(app: ReturnType<typeof buildApp>, services: Services): void {
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) {
      process.stderr.write(`${signal} again: exiting without waiting\n`);
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal }, 'shutting down');
    // A stuck upload must not keep the process alive forever.
    setTimeout(() => {
      process.stderr.write('shutdown took too long: exiting\n');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    void app
      .close()
      .finally(() => services.close())
      .catch((err: unknown) => {
        process.stderr.write(`error while closing: ${(err as Error).message}\n`);
        process.exitCode = 1;
      });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

function fail(err: unknown): number {
  if (err instanceof ConfigError || err instanceof StartError) {
    process.stderr.write(`error: ${oneLine(err.message)} (${err.code})\nhint: ${oneLine(err.hint)}\n`);
    return 1;
  }
  process.stderr.write(`error: ${oneLine((err as Error)?.message ?? String(err))} (EV_ERR_SERVER_INTERNAL)\nhint: this is a bug in ExamVault; the details follow\n`);
  if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

process.exitCode = await main(process.argv.slice(2));
