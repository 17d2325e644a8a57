#!/usr/bin/env node
// Adds lock-file entries for the optional native packages of other platforms that the registry this project
// installs from does not serve (chDB's darwin and arm64 builds). npm skips them by os/cpu at install time,
// but `npm ci` refuses a lock file that does not list them. Run after `npm install` changes the lock.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (lock.packages[target]) continue;
    const platform = /-(darwin|linux|win32)-(arm64|x64)(-gnu|-musl)?$/.exec(name);
    if (!platform) continue;
    lock.packages[target] = {
      version,
      cpu: [platform[2]],
      optional: true,
      os: [platform[1]],
      ...(platform[3] ? { libc: [platform[3] === '-gnu' ? 'glibc' : 'musl'] } : {}),
    };
    added++;
    console.log(`added ${target}@${version} (optional dependency of ${key || 'the project'})`);
  }
}
if (added > 0) writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
console.log(added > 0 ? `package-lock.json: ${added} entries added` : 'package-lock.json: nothing to add');
