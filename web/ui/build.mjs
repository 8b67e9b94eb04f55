// Bundles the dashboard into ../dist (embedded into berthd by go:embed).
// Deterministic: same lockfile and sources, same bytes (no hashes of
// time, no source maps), so `make web` shows no diff on a clean tree.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';

const out = '../dist';
rmSync(out, { recursive: true, force: true });
mkdirSync(out + '/assets', { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', target: ['chrome110', 'firefox110', 'safari16'] };
// ES modules with splitting: xterm.js (most of the bytes) loads only when
// a console opens. Chunk names are content hashes, so still deterministic.
await build({ ...common, entryPoints: { app: 'src/main.js' }, outdir: out + '/assets', format: 'esm', splitting: true, chunkNames: 'chunk-[hash]' });
await build({ ...common, entryPoints: ['src/app.css'], outfile: out + '/assets/app.css' });
for (const f of ['index.html', 'login.html']) copyFileSync('static/' + f, out + '/' + f);
