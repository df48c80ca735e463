import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { formatEvent } from '../terminal/event-printer.js';
import type { FleetEvent } from '../fleet/events.js';
import { describeHold } from '../fleet/guard.js';
import { MAX_FLEET_CONCURRENCY } from '../fleet/fleet-file.js';
import { bounded, rangeNote } from './parse-number.js';
import type { OptionBound } from '../option-bounds.js';

/** The flags every fleet command takes. */
export interface FleetFlags {
  fleet?: string | true;
  concurrency?: number;
  failFast?: boolean;
  databaseUrl?: string;
}

const concurrencyBound: OptionBound = {
  flag: '--concurrency',
  option: 'concurrency',
  min: 1,
  max: MAX_FLEET_CONCURRENCY,
  unit: 'databases',
};

/** Adds --fleet, --concurrency and --fail-fast (docs/fleets.md). */
export function withFleetOptions(command: Command): Command {
  return command
    .option('--fleet [file]', 'run on every database of a fleet file (default: fleet.yaml in the project)')
    .option(
      '--concurrency <n>',
      "with --fleet: databases at a time (default: the file's concurrency, else 4)" + rangeNote(concurrencyBound),
      bounded(concurrencyBound),
    )
    .option('--fail-fast', 'with --fleet: start no further database once one failed');
}

/** --fleet and --database-url name different things: refuse both at once (exit 2, nothing ran). */
export function requireFleetAlone(flags: FleetFlags): void {
  if (flags.databaseUrl !== undefined) {
    throw new InputError('--fleet and --database-url do not combine', {
      hint: 'the fleet file names every database: drop --database-url (or drop --fleet for one database)',
    });
  }
}

/** One plain line per fleet event, prefixed with the target's name (batch-by-batch progress is left out). Pure. */
export function formatFleetEvent(event: FleetEvent): string | undefined {
  switch (event.type) {
    case 'fleet-targets':
      return `${event.targets.length} target(s), ${event.concurrency} at a time`;
    case 'fleet-hold':
      return `fleet-wide guard: ${describeHold(event.hold)}; every target stops ${event.stopAt ? `after release ${event.stopAt}` : 'before it'} (--allow-partial-fleet overrides)`;
    case 'target-start':
      return `[${event.target}] ${event.where}`;
    case 'target':
      if (event.event.type === 'backfill-progress' || event.event.type === 'verify-progress') return undefined;
      return formatEvent(event.event)?.replace(/^\s*/gm, `[${event.target}] `);
    case 'target-done':
      return undefined;
  }
}

/** One JSON object per line: a target's own events carry `target` beside their fields. Pure. */
export function fleetEventJson(event: FleetEvent): string {
  return JSON.stringify(event.type === 'target' ? { target: event.target, ...event.event } : event);
}
