/** Runs the phasectl CLI from source: node --import tsx test/support/fixtures-cli.ts <args…> */
import { run } from '../../src/cli/main.js';

process.exitCode = await run(process.argv);
