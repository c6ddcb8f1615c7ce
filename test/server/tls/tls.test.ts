/**
 * Transport security (DESIGN "Transport"), checked on a live HTTPS listener: the generated localhost
 * certificate, the operator's certificate files, handshakes a Node client is refused, and two
 * independent scanners (sslscan and testssl.sh, run in parallel) listing every protocol and cipher
 * suite the server accepts. Assertions are on the per-suite lists, not on a scanner's verdict.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { buildApp } from '../../../src/server/app.js';
import { ConfigError, loadConfig } from '../../../src/server/config.js';
import { loadCertificateFiles } from '../../../src/server/tls/certificate-files.js';
import { ensureLocalCertificate } from '../../../src/server/tls/local-certificate.js';
import type { ServerCertificate } from '../../../src/server/tls/server-certificate.js';
import { cipherList, tls12Suites, tls13Suites, tlsOptions } from '../../../src/server/tls/tls-options.js';
import { findTool, requireTool, sslscanTool, testsslTool } from '../../support/system-tools.js';

const DAY = 24 * 60 * 60 * 1000;
const tempDir = (): string => mkdtempSync(join(tmpdir(), 'ev-tls-'));
const config = loadConfig({ env: { EXAMVAULT_LOG_LEVEL: 'silent' }, cwd: tempDir() });

async function startServer(cert: Pick<ServerCertificate, 'certPem' | 'keyPem'>) {
  const app = buildApp(config, { routes: async () => {} }, { https: tlsOptions(cert) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  return { app, port: address.port };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves with the negotiated protocol and suite, or rejects with the handshake error. */
function handshake(port: number, options: ConnectionOptions): Promise<{ protocol: string | null; cipher: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      const result = { protocol: socket.getProtocol(), cipher: socket.getCipher().name };
      socket.end();
      resolve(result);
    });
    socket.on('error', reject);
  });
}

async function rsaCertificateFiles(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const crypto = webcrypto as unknown as Crypto;
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=localhost',
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
      signingAlgorithm: algorithm,
      keys,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
    },
    crypto,
  );
  const certPath = join(dir, 'rsa-fullchain.pem');
  const keyPath = join(dir, 'rsa-privkey.pem');
  writeFileSync(certPath, cert.toString('pem'));
  writeFileSync(keyPath, x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'), { mode: 0o600 });
  return { certPath, keyPath };
}

describe('ensureLocalCertificate', () => {
  it('creates an ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1, valid a year, key 0600', async () => {
    const dataDir = tempDir();
    const cert = await ensureLocalCertificate(dataDir);
    assert.equal(cert.created, true);
    assert.equal(cert.reason, 'missing');
    assert.equal(cert.certPath, join(dataDir, 'tls', 'localhost.crt'));
    assert.equal(statSync(cert.keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'tls')).mode & 0o777, 0o700);

    const leaf = new (await import('node:crypto')).X509Certificate(readFileSync(cert.certPath));
    assert.equal(leaf.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(leaf.publicKey.asymmetricKeyType, 'ec');
    assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(leaf.ca, false);
    assert.equal(leaf.fingerprint256, cert.fingerprint256);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth');
    const days = (new Date(leaf.validTo).getTime() - Date.now()) / DAY;
    assert.ok(days > 364 && days < 366, `valid ${days} days`);
    assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(cert.keyPem)));
  });

  it('reuses the certificate on the next start', async () => {
    const dataDir = tempDir();
    const first = await ensureLocalCertificate(dataDir);
    const second = await ensureLocalCertificate(dataDir);
    assert.equal(second.created, false);
    assert.equal(second.fingerprint256, first.fingerprint256);
    assert.equal(second.keyPem, first.keyPem);
  });

  const replaced: [string, (dataDir: string) => Promise<void> | void, string][] = [
    ['expired', async (dataDir) => void (await ensureLocalCertificate(dataDir, { now: new Date(Date.now() - 400 * DAY) })), 'expired'],
    ['expiring within a week', async (dataDir) => void (await ensureLocalCertificate(dataDir, { now: new Date(Date.now() - 360 * DAY) })), 'expired'],
    ['unreadable', (dataDir) => writeFileSync(join(dataDir, 'tls', 'localhost.crt'), 'garbage'), 'unreadable'],
    ['a damaged key', (dataDir) => writeFileSync(join(dataDir, 'tls', 'localhost.key'), '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', { mode: 0o600 }), 'unreadable'],
    [
      'paired with another key',
      async (dataDir) => {
        const other = tempDir();
        await ensureLocalCertificate(other);
        copyFileSync(join(other, 'tls', 'localhost.key'), join(dataDir, 'tls', 'localhost.key'));
      },
      'key mismatch',
    ],
    ['with a key others can read', (dataDir) => chmodSync(join(dataDir, 'tls', 'localhost.key'), 0o644), 'key readable by others'],
  ];
  for (const [what, damage, reason] of replaced) {
    it(`replaces a certificate ${what}`, async () => {
      const dataDir = tempDir();
      const original = await ensureLocalCertificate(dataDir);
      await damage(dataDir);
      const renewed = await ensureLocalCertificate(dataDir);
      assert.equal(renewed.created, true);
      assert.equal(renewed.reason, reason);
      assert.notEqual(renewed.fingerprint256, original.fingerprint256);
      assert.equal(statSync(renewed.keyPath).mode & 0o777, 0o600);
      assert.equal((await ensureLocalCertificate(dataDir)).created, false, 'and reuses the replacement');
    });
  }
});

describe('loadCertificateFiles', () => {
  it('loads a matching certificate and key', async () => {
    const dir = tempDir();
    const { certPath, keyPath } = await rsaCertificateFiles(dir);
    const cert = await loadCertificateFiles(certPath, keyPath);
    assert.match(cert.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  async function refused(certPath: string, keyPath: string, code: string, now?: Date): Promise<void> {
    await assert.rejects(loadCertificateFiles(certPath, keyPath, now), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, code, err.message);
      assert.ok(err.hint.length > 10);
      return true;
    });
  }

  it('fails fast on a missing file: EV_ERR_CONFIG_TLS_UNREADABLE', async () => {
    const dir = tempDir();
    const { certPath, keyPath } = await rsaCertificateFiles(dir);
    await refused(join(dir, 'missing.pem'), keyPath, 'EV_ERR_CONFIG_TLS_UNREADABLE');
    await refused(certPath, join(dir, 'missing.key'), 'EV_ERR_CONFIG_TLS_UNREADABLE');
  });

  it('fails fast on a wrong key, a non-PEM file or an expired certificate: EV_ERR_CONFIG_TLS_INVALID', async () => {
    const dir = tempDir();
    const rsa = await rsaCertificateFiles(dir);
    const local = await ensureLocalCertificate(dir);
    await refused(rsa.certPath, local.keyPath, 'EV_ERR_CONFIG_TLS_INVALID');
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    await refused(junk, rsa.keyPath, 'EV_ERR_CONFIG_TLS_INVALID');
    await refused(rsa.certPath, junk, 'EV_ERR_CONFIG_TLS_INVALID');
    await refused(rsa.certPath, rsa.keyPath, 'EV_ERR_CONFIG_TLS_INVALID', new Date(Date.now() + 60 * DAY));
  });
});

describe('tlsOptions', () => {
  it('allows TLS 1.2-1.3 and only ECDHE AES-GCM suites (no CHACHA20: not FIPS-approved)', () => {
    const options = tlsOptions({ certPem: '', keyPem: '' });
    assert.equal(options.minVersion, 'TLSv1.2');
    assert.equal(options.maxVersion, 'TLSv1.3');
    assert.equal(options.honorCipherOrder, true);
    assert.equal(options.ecdhCurve, 'P-256:P-384');
    assert.equal(options.ciphers, cipherList);
    for (const suite of cipherList.split(':')) {
      assert.match(suite, /^(TLS_AES_(128|256)_GCM_SHA(256|384)|ECDHE-(ECDSA|RSA)-AES(128|256)-GCM-SHA(256|384))$/);
    }
  });
});

describe('HTTPS listener (self-signed certificate)', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let cert: ServerCertificate;
  const scanDir = tempDir();
  let sslscan: Promise<Run> | null = null;
  let testssl: Promise<Run> | null = null;

  before(async () => {
    cert = await ensureLocalCertificate(tempDir());
    server = await startServer(cert);
    const target = `127.0.0.1:${server.port}`;
    // Both scanners start at once; each test below awaits its own.
    const sslscanPath = findTool(sslscanTool);
    const testsslPath = findTool(testsslTool);
    if (sslscanPath) sslscan = run(sslscanPath, ['--no-colour', target], 60_000);
    // --nodns none and an IP target keep testssl from looking names up off the machine.
    if (testsslPath) {
      testssl = run(testsslPath, ['--quiet', '--color', '0', '--nodns', 'none', '--warnings', 'off', '-p', '-f', '-E', '--jsonfile', join(scanDir, 'testssl.json'), `https://${target}`], 85_000);
    }
  });

  after(async () => {
    await Promise.allSettled([sslscan, testssl]);
    await server.app.close();
  });

  it('sends HSTS over HTTPS, with a certificate valid for 127.0.0.1 and localhost', async () => {
    for (const servername of [undefined, 'localhost']) {
      const res = await new Promise<{ status: number | undefined; headers: Record<string, unknown> }>((resolve, reject) => {
        get({ host: '127.0.0.1', port: server.port, path: '/healthz', ca: cert.certPem, ...(servername ? { servername } : {}) }, (r) => {
          r.resume();
          r.on('end', () => resolve({ status: r.statusCode, headers: r.headers }));
        }).on('error', reject);
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers['strict-transport-security'], `max-age=${config.hstsMaxAgeSeconds}; includeSubDomains`);
    }
  });

  it('negotiates TLS 1.3 and TLS 1.2 with the server\'s preferred AEAD suite', async () => {
    assert.deepEqual(await handshake(server.port, {}), { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' });
    assert.deepEqual(await handshake(server.port, { maxVersion: 'TLSv1.2' }), { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
  });

  const refusedHandshakes: [string, ConnectionOptions][] = [
    ['TLS 1.1', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }],
    ['TLS 1.2 with CHACHA20-POLY1305 only', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305' }],
    ['TLS 1.2 with CBC suites only', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA' }],
    ['TLS 1.2 without forward secrecy', { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256:AES256-GCM-SHA384' }],
    ['TLS 1.3 with CHACHA20-POLY1305 only', { minVersion: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256' }],
    ['X25519 only', { ecdhCurve: 'X25519' }],
  ];
  for (const [what, options] of refusedHandshakes) {
    it(`refuses a client offering ${what}`, async () => {
      // Refused by the server (a TLS alert), not by a client that had nothing to offer.
      await assert.rejects(handshake(server.port, options), (err: NodeJS.ErrnoException) => /^ERR_SSL_.*ALERT/.test(err.code ?? ''));
    });
  }

  it('sslscan: no SSLv2/SSLv3/TLS 1.0/TLS 1.1; TLS 1.2 and 1.3; every accepted suite ECDHE AES-GCM or TLS 1.3', async (t) => {
    if (!requireTool(t, sslscanTool) || !sslscan) return;
    const { stdout, code } = await sslscan;
    assert.equal(code, 0, stdout);
    const protocols = Object.fromEntries([...stdout.matchAll(/^(SSLv2|SSLv3|TLSv1\.[0-3])\s+(enabled|disabled)/gm)].map((m) => [m[1], m[2]]));
    assert.deepEqual(protocols, { SSLv2: 'disabled', SSLv3: 'disabled', 'TLSv1.0': 'disabled', 'TLSv1.1': 'disabled', 'TLSv1.2': 'enabled', 'TLSv1.3': 'enabled' });

    const suites = [...stdout.matchAll(/^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    t.diagnostic(`sslscan accepted: ${suites.join(', ')}`);
    for (const suite of suites) assert.match(suite, /^(TLSv1\.2 ECDHE-(ECDSA|RSA)-AES(128|256)-GCM-SHA(256|384)|TLSv1\.3 TLS_AES_(128|256)_GCM_SHA(256|384))$/);
    // With an ECDSA certificate, exactly these (the RSA variants need an RSA certificate).
    assert.deepEqual(suites.sort(), [
      'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256',
      'TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384',
      'TLSv1.3 TLS_AES_128_GCM_SHA256',
      'TLSv1.3 TLS_AES_256_GCM_SHA384',
    ]);
    assert.match(stdout, /Session renegotiation not supported/);
    const groups = [...stdout.matchAll(/^TLSv1\.[23]\s+\d+ bits\s+(\S+)/gm)].map((m) => m[1]);
    assert.ok(groups.length > 0);
    for (const group of groups) assert.match(group as string, /^secp(256|384)r1$/);
  });

  it('testssl.sh: the same, from its per-suite list', { timeout: 90_000 }, async (t) => {
    if (!requireTool(t, testsslTool) || !testssl) return;
    const result = await testssl;
    let findings: { id: string; finding: string }[];
    try {
      findings = JSON.parse(readFileSync(join(scanDir, 'testssl.json'), 'utf8'));
    } catch {
      assert.fail(`testssl wrote no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
    }
    const byId = new Map(findings.map((f) => [f.id, f.finding]));
    for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(byId.get(id) ?? 'missing', /^not offered/, id);
    for (const id of ['TLS1_2', 'TLS1_3']) assert.match(byId.get(id) ?? 'missing', /^offered/, id);

    const suites = findings
      .filter((f) => f.id.startsWith('cipher-'))
      .map((f) => /^(SSLv2|SSLv3|TLS 1(?:\.[123])?)\s+x[0-9a-f]+\s+(\S+)\s+(\S+)/.exec(f.finding))
      .map((m) => {
        assert.ok(m, 'a per-suite finding in the expected format');
        return { protocol: m[1] as string, name: m[2] as string, keyExchange: m[3] as string };
      });
    t.diagnostic(`testssl accepted: ${suites.map((s) => `${s.protocol} ${s.name} (${s.keyExchange})`).join(', ')}`);
    assert.equal(suites.length, 4, 'the per-suite list is complete');
    for (const s of suites) {
      if (s.protocol === 'TLS 1.3') assert.ok(tls13Suites.includes(s.name), s.name);
      else {
        assert.equal(s.protocol, 'TLS 1.2', `${s.name} offered over ${s.protocol}`);
        assert.ok(tls12Suites.includes(s.name), s.name);
        assert.match(s.name, /^ECDHE-/);
      }
      assert.equal(s.keyExchange, 'ECDH', `${s.name} key exchange`);
    }
  });
});

describe('HTTPS listener (an operator\'s RSA certificate, files mode)', () => {
  it('sslscan: TLS 1.2 offers only the ECDHE-RSA AES-GCM suites', async (t) => {
    const sslscanPath = requireTool(t, sslscanTool);
    if (!sslscanPath) return;
    const { certPath, keyPath } = await rsaCertificateFiles(tempDir());
    const server = await startServer(await loadCertificateFiles(certPath, keyPath));
    try {
      const { stdout } = await run(sslscanPath, ['--no-colour', `127.0.0.1:${server.port}`], 30_000);
      const suites = [...stdout.matchAll(/^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
      t.diagnostic(`sslscan accepted: ${suites.join(', ')}`);
      assert.deepEqual(suites.sort(), [
        'TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256',
        'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
        'TLSv1.3 TLS_AES_128_GCM_SHA256',
        'TLSv1.3 TLS_AES_256_GCM_SHA384',
      ]);
    } finally {
      await server.app.close();
    }
  });
});
