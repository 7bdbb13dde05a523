#!/usr/bin/env node
// Puts the workspace's command-line programs on PATH inside an image.
// Usage: node link-bins.mjs <workspaceRoot> <binDir> <required bin name>...
// For every packages/*/package.json `bin` entry it writes <binDir>/<name>, a shell wrapper that
// execs node on that file (no dependence on shebangs or the executable bit of build output).
// Fails, naming what is missing, when a required program is not declared or its file is absent,
// so an image never ships without the command its manifests run.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [root, binDir, ...required] = process.argv.slice(2);
if (!root || !binDir) {
  console.error('usage: link-bins.mjs <workspaceRoot> <binDir> <required bin name>...');
  process.exit(2);
}
const packagesDir = resolve(root, 'packages');
const found = new Map();
for (const dir of readdirSync(packagesDir, { withFileTypes: true })) {
  if (!dir.isDirectory()) continue;
  const manifestPath = join(packagesDir, dir.name, 'package.json');
  if (!existsSync(manifestPath)) continue;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const bins = typeof manifest.bin === 'string' ? { [manifest.name.replace(/^@[^/]+\//, '')]: manifest.bin } : (manifest.bin ?? {});
  for (const [name, file] of Object.entries(bins)) {
    if (found.has(name)) {
      console.error(`link-bins: ${name} is declared by both ${found.get(name).pkg} and ${manifest.name}`);
      process.exit(1);
    }
    found.set(name, { pkg: manifest.name, target: join(packagesDir, dir.name, file) });
  }
}
const problems = [];
for (const name of required) {
  const entry = found.get(name);
  if (!entry) problems.push(`${name}: no package under ${packagesDir} declares it in "bin"`);
  else if (!existsSync(entry.target)) problems.push(`${name}: ${entry.pkg} declares ${entry.target}, which does not exist (not built?)`);
}
if (problems.length > 0) {
  console.error(`link-bins: missing programs:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
mkdirSync(binDir, { recursive: true });
for (const [name, { target }] of found) {
  if (!existsSync(target)) continue;
  const path = join(binDir, name);
  writeFileSync(path, `#!/bin/sh\nexec node ${JSON.stringify(target)} "$@"\n`);
  chmodSync(path, 0o755);
  console.log(`link-bins: ${name} -> ${target}`);
}
