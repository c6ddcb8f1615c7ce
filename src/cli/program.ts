/**
 * The `examvault` command line: builds the commander program and runs it, turning every failure into
 * the `error:` / `hint:` lines of errors.ts and an exit status. Commands live in commands/, one file
 * each; this module only wires them.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAudit } from './commands/audit-verify.js';
import { registerCustody } from './commands/custody.js';
import { registerInspect } from './commands/inspect.js';
import { registerKeygen } from './commands/keygen.js';
import { registerOpen } from './commands/open.js';
import { registerSeal } from './commands/seal.js';
import { reportError } from './errors.js';
import { registerOperatorCommands } from './operator/index.js';

/** The package version; package.json sits two levels up from both src/cli and dist/cli. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** Builds the program. Settings come before the commands, which inherit them (commander copies them). */
export function buildProgram(): Command {
  const program = new Command('examvault')
    .description('End-to-end encrypted exam recordings: create epoch keys, seal, inspect and open recordings; '
      + 'make, approve and use staff custody keys offline; '
      + 'on a server\'s machine, create institutions, issue attempt credentials and rotate at-rest keys.')
    .version(version(), '-V, --version')
    // Throw instead of exiting, and print nothing: reportError writes the error and hint lines.
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .addHelpText('after', `
Failures print one "error:" line with a stable code and one "hint:" line on stderr, and exit with
status 1 (2 for a usage error). The codes are listed in docs/cli.md.`);
  registerKeygen(program);
  registerSeal(program);
  registerOpen(program);
  registerInspect(program);
  registerAudit(program);
  registerCustody(program);
  registerOperatorCommands(program);
  return program;
}

/**
 * The command named on the command line, with its subcommand if it has them (`keys rotate`), for
 * pointing a usage error at the right --help.
 */
function commandName(program: Command, args: readonly string[]): string | undefined {
  const names: string[] = [];
  let current = program;
  for (const arg of args) {
    const sub = current.commands.find((c) => c.name() === arg);
    if (!sub) continue;
    names.push(arg);
    current = sub;
    if (current.commands.length === 0) break;
  }
  return names.length > 0 ? names.join(' ') : undefined;
}

/** Runs the CLI with `argv` as in process.argv; resolves with the exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    return reportError(e, commandName(program, argv.slice(2)), (s) => process.stderr.write(s));
  }
}
