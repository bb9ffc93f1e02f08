// `npm install` entry point for the addon. It never fails the install: without
// the addon Spip still runs and reports the local address instead.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const env = { ...process.env };
// node-gyp otherwise downloads headers from nodejs.org, which fails offline.
// Distribution packages and the official tarballs both install them beside
// the node binary, so point it there unless the user chose a nodedir.
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
  env.npm_config_nodedir = prefix;
}

// npm puts its bundled node-gyp on PATH for install scripts.
const build = spawnSync('node-gyp', ['rebuild'], { cwd: dirname(fileURLToPath(import.meta.url)), env, stdio: 'inherit' });
if (build.status !== 0) {
  console.warn('spip: native original-destination addon not built; falling back to the local address');
}
