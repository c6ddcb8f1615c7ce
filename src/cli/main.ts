#!/usr/bin/env node
/**
 * Entry point of the `examvault` binary. Sets the exit status rather than calling process.exit, so
 * output still queued for stdout (a pipe) is flushed before the process ends.
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv);
