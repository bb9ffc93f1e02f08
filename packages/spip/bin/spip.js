#!/usr/bin/env node
import { run } from '../dist/src/cli.js';

const code = await run(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; the timer only guards against a stray handle keeping the process alive.
setTimeout(() => process.exit(code), 2000).unref();
