#!/usr/bin/env node
// Bundles the operator dashboard (packages/loom/web) into packages/loom/dist/web: one
// script, one stylesheet and the page, with every dependency inside, so that the
// dashboard works offline. Typechecks the page's TypeScript first (esbuild does not).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as esbuild from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const web = join(root, 'packages/loom/web');
const out = join(root, 'packages/loom/dist/web');
const require = createRequire(import.meta.url);

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(web, 'tsconfig.json')], { stdio: 'inherit' });
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: { app: join(web, 'src/main.ts') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  outdir: out,
  logLevel: 'warning',
});
await esbuild.build({ entryPoints: { app: join(web, 'src/app.css') }, bundle: true, minify: true, outdir: out, logLevel: 'warning' });
copyFileSync(join(web, 'index.html'), join(out, 'index.html'));
