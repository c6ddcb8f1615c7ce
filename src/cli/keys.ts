/**
 * Loading key files for the commands (formats in docs/SPEC.md §9). The crypto core validates them;
 * this module adds what only the CLI knows: which flag the file came from, and that a wrong
 * passphrase (not a wrong recording) is why a key file failed to decrypt. Telling the two apart leaks
 * nothing: the person running the command holds the key file, the passphrase and the recording.
 */
import { type CryptoErrorCode, type UnlockedKeyPair, isCryptoError, readPublicKeyFile, unlockPrivateKey } from '../crypto/index.js';
import { CliError } from './errors.js';
import { readJsonFile } from './io.js';
import { readPassphrase } from './passphrase.js';

function formatOf(json: unknown): unknown {
  return typeof json === 'object' && json !== null ? (json as Record<string, unknown>).format : undefined;
}

/** Reads `--recipient`: an epoch public key file. */
export async function loadPublicKey(path: string): Promise<CryptoKey> {
  const json = await readJsonFile(path, {
    name: 'public key file',
    missingHint: '--recipient takes the .pub file `examvault keygen` writes next to the private key',
  });
  if (formatOf(json) === 'examvault-private-key') {
    throw new CliError('EV_ERR_KEYFILE_MALFORMED', `'${path}' is a private key file`,
      '--recipient takes the public key (the .pub file); sealing never needs the private key, keep it off this machine');
  }
  try {
    return (await readPublicKeyFile(json)).key;
  } catch (e) {
    if (isCryptoError(e)) throw new CliError(e.code, `public key file '${path}': ${e.message}`, '--recipient takes the .pub file `examvault keygen` writes');
    throw e;
  }
}

/**
 * Reads `--key` (or `flag`, e.g. `--epoch-key`): a passphrase-protected epoch private key file, asking
 * for the passphrase as configured.
 */
export async function loadPrivateKey(path: string, passphraseFile: string | undefined, flag = '--key'): Promise<UnlockedKeyPair> {
  const json = await readJsonFile(path, {
    name: 'key file',
    missingHint: `${flag} takes the private key file \`examvault keygen --out\` wrote`,
  });
  // Checked before asking for a passphrase, so a wrong file is caught without a prompt.
  if (formatOf(json) === 'examvault-public-key') {
    throw new CliError('EV_ERR_KEYFILE_MALFORMED', `'${path}' is a public key file`,
      `${flag} takes the private key file (the one without .pub) that \`examvault keygen --out\` wrote`);
  }
  if (typeof json === 'object' && json !== null && 'wrappedKeys' in json) {
    throw new CliError('EV_ERR_KEYFILE_MALFORMED', `'${path}' is a member key file (from \`examvault custody keygen\`), not an epoch key file`,
      flag === '--key' ? 'to open a recording with your own member key, also pass --grant <your grant file>'
        : `${flag} takes the epoch private key file \`examvault keygen\` or \`institutions create\` wrote`);
  }
  const passphrase = await readPassphrase({ passphraseFile, what: `the key file '${path}'` });
  try {
    return await unlockPrivateKey(json, passphrase);
  } catch (e) {
    if (isCryptoError(e, 'EV_ERR_CRYPTO_DECRYPTION_FAILED')) {
      throw new CliError(e.code, `cannot unlock the key file '${path}': decryption failed`, 'wrong passphrase, or the key file was modified');
    }
    if (isCryptoError(e)) throw new CliError(e.code, `key file '${path}': ${e.message}`, keyFileHint(e.code));
    throw e;
  }
}

function keyFileHint(code: CryptoErrorCode): string {
  if (code === 'EV_ERR_KEYFILE_WEAK_KDF') {
    return 'ExamVault requires 600000 to 10000000 PBKDF2 iterations (and a 16-byte salt): a key file asking for fewer '
      + 'was not written by `examvault keygen` or was altered to weaken it; do not use it';
  }
  return 'the key file is damaged or was edited: use the file `examvault keygen` wrote';
}
