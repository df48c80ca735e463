/**
 * CPU time of one server backend, read from /proc/<pid>/stat (user + system time): what a statement cost the
 * server, whatever else the VM was doing meanwhile. Wall times of the same statement swing ±20 % here; the backend's
 * CPU time does not include the time it waited for a core. Only for a server on this machine (the bench's embedded
 * one); elsewhere the reader is undefined and the bench uses wall time.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type pg from 'pg';

/** A reader of the backend's CPU milliseconds so far, or undefined when /proc has no such process. */
export async function backendCpuReader(client: pg.ClientBase): Promise<(() => Promise<number>) | undefined> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid');
  const path = `/proc/${rows[0]!.pid}/stat`;
  const ticksPerSecond = await clockTicks();
  const read = async () => {
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis):
    // utime and stime are the 14th and 15th fields of the line, the 12th and 13th after it.
    const stat = await readFile(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  };
  try {
    await read();
    return read;
  } catch {
    return undefined;
  }
}

async function clockTicks(): Promise<number> {
  try {
    const { stdout } = await promisify(execFile)('getconf', ['CLK_TCK']);
    const ticks = Number(stdout.trim());
    return ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}
