/**
 * Helper process that owns one embedded PostgreSQL cluster (see embedded.ts for why it is a process).
 * argv[2]: JSON options. Prints one JSON line { url, port, directory } when the server is up; stops the
 * server, removes its directory and exits when its stdin closes (the parent said stop, or died).
 */
import { startClusterInThisProcess, type EmbeddedOptions } from './embedded-cluster.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Omit<EmbeddedOptions, 'log'>;
try {
  const server = await startClusterInThisProcess({ ...options, log: (line) => process.stderr.write(`${line.trimEnd()}\n`) });
  process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port, directory: server.directory })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void server.stop().finally(() => process.exit(0));
  });
} catch (error) {
  process.stderr.write(`embedded PostgreSQL failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
