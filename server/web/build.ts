/*
 * Builds the web app (server/web/src → server/web/dist) with esbuild: a
 * minified ES module entry, the chunks it loads (shared code, and what it
 * imports lazily) and one stylesheet, all named by content hash so they can
 * be cached forever, each with a brotli and a gzip copy beside it (the server
 * answers with the one the browser accepts), and index.html pointing at them.
 * Nothing is fetched from elsewhere: Preact, supabase-js and graphql-ws are
 * bundled in.
 *
 * The output is not committed. `npm start` and `npm test` call this with
 * ifStale, which rebuilds only when a source file, this script or the
 * lockfile changed (a hash of their contents, kept in dist/.stamp), so a
 * fresh clone or a `git pull` never serves an old bundle.
 *
 *   node server/web/build.ts [--if-stale]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const WEB_DIR = import.meta.dirname;
const ROOT_DIR = path.resolve(WEB_DIR, '..', '..');
export const DIST_DIR = path.join(WEB_DIR, 'dist');
const SRC_DIR = path.join(WEB_DIR, 'src');
const STAMP = '.stamp';

function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
    .sort();
}

/** A hash of everything the bundle is made from. */
function inputsHash(): string {
  const h = crypto.createHash('sha256');
  const inputs = [
    ...filesUnder(SRC_DIR),
    // Imported by the app from outside src/.
    path.join(ROOT_DIR, 'core', 'media-types.ts'),
    path.join(WEB_DIR, 'index.html'),
    import.meta.filename,
    path.join(ROOT_DIR, 'package-lock.json'),
  ];
  for (const f of inputs) {
    h.update(path.relative(ROOT_DIR, f));
    h.update(fs.readFileSync(f));
  }
  return h.digest('hex');
}

export interface BuildResult {
  built: boolean;
  /** Bytes of JavaScript and CSS written, uncompressed. */
  jsBytes: number;
  cssBytes: number;
}

export async function buildWeb(opts: { ifStale?: boolean } = {}): Promise<BuildResult> {
  const hash = inputsHash();
  const stampFile = path.join(DIST_DIR, STAMP);
  if (opts.ifStale && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === hash) {
    return { built: false, ...sizes(DIST_DIR) };
  }
  // esbuild is a dev dependency: a production image builds the app at image
  // build time and never reaches this import.
  const esbuild = await import('esbuild');
  // Built beside dist and swapped in with renames, so a server reading dist
  // never sees half a build, and two builders at once cannot mix outputs.
  const tmp = `${DIST_DIR}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: { app: path.join(SRC_DIR, 'main.tsx') },
    bundle: true,
    format: 'esm',
    // supabase-js and graphql-ws become chunks the app imports dynamically, so
    // the first screen does not wait for them to be parsed (see api.ts). They
    // are deliberately not modulepreloaded: compiling them early delayed the
    // first screen (scripts/bench-web.ts). The pages the first screen does not
    // need (People, a person, the player) are dynamic imports too (lazy.tsx).
    splitting: true,
    chunkNames: 'chunk-[hash]',
    minify: true,
    sourcemap: false,
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    platform: 'browser',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: path.join(tmp, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    loader: { '.svg': 'file' },
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    absWorkingDir: ROOT_DIR,
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => path.resolve(ROOT_DIR, p));
  const [entry, entryOut] = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint)!;
  const js = path.resolve(ROOT_DIR, entry);
  // Code the entry shares with the lazy pages (Preact, the shell) is a chunk
  // the entry imports statically: preloaded, so it is not one round trip late.
  const preloads = entryOut.imports
    .filter((i) => i.kind === 'import-statement')
    .map((i) => `<link rel="modulepreload" href="/assets/${path.basename(i.path)}" />`)
    .join('\n    ');
  const css = outputs.find((p) => p.endsWith('.css'));
  const asset = (p: string) => `/assets/${path.basename(p)}`;
  const iconSrc = path.join(SRC_DIR, 'icon.svg');
  const iconName = `icon-${crypto.createHash('sha256').update(fs.readFileSync(iconSrc)).digest('hex').slice(0, 8)}.svg`;
  fs.copyFileSync(iconSrc, path.join(tmp, 'assets', iconName));
  const html = fs
    .readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8')
    .replace('%APP_JS%', asset(js))
    .replace('%MODULE_PRELOADS%', preloads)
    .replace('%APP_CSS%', css ? asset(css) : '')
    .replace('%ICON%', `/assets/${iconName}`);
  fs.writeFileSync(path.join(tmp, 'index.html'), html);
  // Compressed once here at the highest levels instead of per request: the
  // first screen's JavaScript is ~4x smaller on the wire (supabase-js 215 KB
  // becomes ~50 KB), and serving a copy costs the server nothing.
  for (const f of fs.readdirSync(path.join(tmp, 'assets'))) {
    const file = path.join(tmp, 'assets', f);
    const bytes = fs.readFileSync(file);
    const br = zlib.brotliCompressSync(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    });
    const gz = zlib.gzipSync(bytes, { level: 9 });
    if (br.length < bytes.length) fs.writeFileSync(`${file}.br`, br);
    if (gz.length < bytes.length) fs.writeFileSync(`${file}.gz`, gz);
  }
  fs.writeFileSync(path.join(tmp, STAMP), hash + '\n');

  const old = `${DIST_DIR}.old-${process.pid}`;
  if (fs.existsSync(DIST_DIR)) fs.renameSync(DIST_DIR, old);
  fs.renameSync(tmp, DIST_DIR);
  fs.rmSync(old, { recursive: true, force: true });
  return { built: true, ...sizes(DIST_DIR) };
}

function sizes(dir: string) {
  const assets = path.join(dir, 'assets');
  let jsBytes = 0;
  let cssBytes = 0;
  if (fs.existsSync(assets)) {
    for (const f of fs.readdirSync(assets)) {
      const n = fs.statSync(path.join(assets, f)).size;
      if (f.endsWith('.js')) jsBytes += n;
      if (f.endsWith('.css')) cssBytes += n;
    }
  }
  return { jsBytes, cssBytes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const r = await buildWeb({ ifStale: process.argv.includes('--if-stale') });
  console.log(
    `web app ${r.built ? 'built' : 'up to date'}: ${DIST_DIR} (JS ${(r.jsBytes / 1024).toFixed(1)} KB, CSS ${(r.cssBytes / 1024).toFixed(1)} KB)`,
  );
}
