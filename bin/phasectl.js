#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (the `prepare` script). dist/cli.bundle.js is
// dist/cli/main.js with what it imports in one file (scripts/bundle-cli.mjs): it starts several times faster.
import { run } from '../dist/cli.bundle.js';

process.exitCode = await run(process.argv);
