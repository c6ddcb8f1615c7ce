/**
 * docs/INTEGRATION.md runs as written. Part 1's operator command registers an LMS on a real data
 * directory. Part 2: every shell block (the operator's `examvault platforms
 * register`, then the platform's and the recorder's curl calls) is run with bash against a real
 * server started over HTTPS, in order, and each answer must have exactly the fields of the JSON
 * example that follows the block in the document (and the same error code, for an error).
 *
 * Placeholders: the example institution id is replaced by a real one; `$EXAMVAULT_URL`,
 * `$EXAMVAULT_API_KEY` and `$PASSCODE` are set from the server and from earlier answers, as a platform
 * would set them.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureLocalCertificate } from '../../src/server/tls/local-certificate.js';
import { dataDirWithInstitution } from '../server/platforms/support.js';
import { type ServerProcess, serverProcess } from '../server/support/server-process.js';
import { curlTool, requireTool } from '../support/system-tools.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE_INSTITUTION = 'inst-0123456789abcdefghjk';

interface Example {
  readonly script: string;
  /** The JSON block right after the shell block. */
  readonly answer: Record<string, unknown>;
}

/** The shell blocks of Part 2, each with the JSON answer the document shows after it. */
function examples(): Example[] {
  const doc = readFileSync(join(root, 'docs/INTEGRATION.md'), 'utf8');
  const part = doc.slice(doc.indexOf('<!-- Part 2: passcodes -->'), doc.indexOf('<!-- end of Part 2 -->'));
  const blocks = [...part.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] as string, text: m[2] as string }));
  const out: Example[] = [];
  blocks.forEach((b, i) => {
    const next = blocks[i + 1];
    if (b.lang === 'sh' && next?.lang === 'json') out.push({ script: b.text, answer: JSON.parse(next.text) as Record<string, unknown> });
  });
  return out;
}

function run(script: string, env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  // `npx examvault` is the CLI from source, as the built package would run it.
  const prelude = `npx() { "$@"; }\nexamvault() { node --import tsx ${JSON.stringify(join(root, 'src/cli/main.ts'))} "$@"; }\nset -e\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', prelude + script], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end();
  });
}

describe('docs/INTEGRATION.md, Part 1', () => {
  it('registers an LMS with the operator command as written', async () => {
    const doc = readFileSync(join(root, 'docs/INTEGRATION.md'), 'utf8');
    const part = doc.slice(doc.indexOf('<!-- Part 1: LTI 1.3 -->'), doc.indexOf('<!-- end of Part 1 -->'));
    const scripts = [...part.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    assert.equal(scripts.length, 1, 'Part 1 shows one operator command');
    const { dataDir, institution } = await dataDirWithInstitution();
    const env = { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_LOG_LEVEL: 'silent' };
    const added = await run((scripts[0] as string).replaceAll(EXAMPLE_INSTITUTION, institution), env);
    assert.equal(added.status, 0, added.stderr);
    const registration = JSON.parse(added.stdout) as Record<string, unknown>;
    assert.equal(registration.issuer, 'https://canvas.instructure.com');
    assert.equal(registration.institution, institution);
    const listed = await run(`examvault lti platforms list --institution ${institution}`, env);
    assert.deepEqual((JSON.parse(listed.stdout) as { platforms: { platform: string }[] }).platforms.map((p) => p.platform), [registration.platform]);
  });
});

describe('docs/INTEGRATION.md, Part 2', () => {
  it('documents curl calls that work as written against a real server', async (t) => {
    if (!requireTool(t, curlTool)) return;
    const cases = examples();
    assert.ok(cases.filter((c) => c.script.includes('curl ')).length >= 4, 'the document shows the platform and recorder calls');
    assert.ok(cases.some((c) => c.script.includes('examvault platforms register')), 'the document shows how a platform is registered');

    const { dataDir, institution } = await dataDirWithInstitution();

    const caFile = join(dataDir, 'ca.pem');
    await writeFile(caFile, (await ensureLocalCertificate(dataDir)).certPem);
    const env: Record<string, string> = { EXAMVAULT_DATA_DIR: dataDir, EXAMVAULT_LOG_LEVEL: 'silent', CURL_CA_BUNDLE: caFile };
    let server: ServerProcess | null = null;
    t.after(async () => {
      await server?.stop();
    });

    for (const example of cases) {
      // Operator commands act on the data directory: they run before the server starts.
      if (example.script.includes('curl ') && !server) {
        server = await serverProcess(dataDir);
        await server.start();
        env.EXAMVAULT_URL = `https://localhost:${server.port}`;
      }
      const result = await run(example.script.replaceAll(EXAMPLE_INSTITUTION, institution), env);
      assert.equal(result.status, 0, `${example.script}\nfailed: ${result.stderr}${result.stdout}`);
      const answer = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(answer).sort(), Object.keys(example.answer).sort(), `${example.script}\nanswered ${result.stdout}`);
      const documentedError = (example.answer.error as { code?: string } | undefined)?.code;
      if (documentedError) assert.equal((answer.error as { code: string }).code, documentedError);
      if (typeof answer.apiKey === 'string') env.EXAMVAULT_API_KEY = answer.apiKey;
      if (typeof answer.passcode === 'string') env.PASSCODE = answer.passcode;
      if (typeof answer.token === 'string') assert.match(answer.token, /^ev1\.eu\./);
    }
    assert.ok(env.EXAMVAULT_API_KEY && env.PASSCODE, 'the examples chain: registration → key → passcode → credential');
  });
});
