#!/usr/bin/env node
/**
 * Entry point of the `examvault` binary. Sets the exit status rather than calling process.exit, so
 * output still queued for stdout (a pipe) is flushed before the process ends.
 */
import { runCli } from './program.js';

// A reader that exits early (`examvault --help | head -1`) closes the pipe. Help text is written
// synchronously by commander, and the write's EPIPE arrives later as an 'error' event on stdout,
// which unheard would end the process with a stack trace. Output that is data is written through
// writeStdout (io.ts), which hears the same error itself and reports it as EV_ERR_CLI_IO.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

process.exitCode = await runCli(process.argv);
