// Bundles the dashboard into ../dist (embedded into berthd by go:embed).
// Deterministic: same lockfile and sources, same bytes (no hashes of
// time, no source maps), so `make web` shows no diff on a clean tree.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

const out = '../dist';
rmSync(out, { recursive: true, force: true });
mkdirSync(out + '/assets', { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', target: ['chrome110', 'firefox110', 'safari16'] };
await build({ ...common, entryPoints: ['src/main.js'], outfile: out + '/assets/app.js', format: 'iife' });
await build({ ...common, entryPoints: ['src/app.css'], outfile: out + '/assets/app.css' });
for (const f of ['index.html', 'login.html']) copyFileSync('static/' + f, out + '/' + f);
