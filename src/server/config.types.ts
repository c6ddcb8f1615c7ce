/**
 * The server's configuration, as validated and frozen by config.ts. Shared here so feature modules
 * can depend on the shape without loading the loader.
 */

export type TlsConfig =
  /** A self-signed ECDSA P-256 certificate for localhost, created on first start under dataDir/tls. */
  | { readonly mode: 'self-signed' }
  /** Production: PEM certificate chain and private key files. */
  | { readonly mode: 'files'; readonly certPath: string; readonly keyPath: string }
  /** Plain HTTP on a loopback address behind a TLS-terminating proxy that sets X-Forwarded-Proto. */
  | { readonly mode: 'proxy' };

export interface ServerConfig {
  /** Where cells, keyrings, the directory and the generated certificate live. */
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly tls: TlsConfig;
  /** The origin browsers use, e.g. https://localhost:8443. */
  readonly publicOrigin: string;
  /** The region cells this deployment runs, from the region catalog. */
  readonly regions: readonly string[];
  readonly hstsMaxAgeSeconds: number;
  /** Lifetime of an attempt credential. */
  readonly attemptCredentialTtlSeconds: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}
