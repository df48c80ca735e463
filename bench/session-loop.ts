import pg from 'pg';

/**
 * Runs `step` again and again on a connection of its own until `stop()`, which resolves once the loop has ended and
 * its connection is closed (the load and the samplers that run beside a measured phase). A failing step ends the
 * loop, and `stop()` rejects with its error.
 */
export function loopOnConnection(
  url: string,
  step: (client: pg.Client) => Promise<void>,
  applicationName?: string,
): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    const client = new pg.Client({
      connectionString: url,
      ...(applicationName === undefined ? {} : { application_name: applicationName }),
    });
    await client.connect();
    try {
      while (running) await step(client);
    } finally {
      await client.end();
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}
