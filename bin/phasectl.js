#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (the `prepare` script).
import { run } from '../dist/cli/main.js';

process.exitCode = await run(process.argv);
