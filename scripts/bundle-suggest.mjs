// Bundles simplebb-suggest (it runs on every git push) into one file after tsc has built dist/, so Node reads and
// compiles one module instead of fourteen. Builtins are taken with process.getBuiltinModule rather than ESM imports:
// an ESM import of a builtin builds a namespace of all its exports, which runs node:util's lazy getters (TextDecoder,
// diff, colors), about 7 ms of a 25 ms start on Node 24. node:crypto (only with a token) and node:tls (only with
// --tls) stay in chunks of their own, loaded when used, as does the DNS-SD search (only with -H auto).
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIST = 'dist';
const CHUNKS = 'suggest-chunks';
if (readFileSync(join(DIST, 'suggest.js'), 'utf8').includes(`./${CHUNKS}/`)) {
  console.error('bundle-suggest: dist/suggest.js is already a bundle; run tsc first (npm run build)');
  process.exit(1);
}
rmSync(join(DIST, CHUNKS), { recursive: true, force: true });
const result = await build({
  entryPoints: [join(DIST, 'suggest.js')], outdir: DIST, allowOverwrite: true, chunkNames: `${CHUNKS}/[name]-[hash]`,
  bundle: true, splitting: true, format: 'esm', platform: 'node', target: 'node20.19', metafile: true, logLevel: 'warning',
  // CommonJS that requires node:dgram, which an ESM bundle cannot do: imported from node_modules, by the -H auto chunk only.
  external: ['multicast-dns'],
});

const STATIC = /^import (?:\{([^}]*)\}|\* as (\w+)|(\w+)) from "(node:[\w/]+)";\n/gm;
const DYNAMIC = /\bimport\("(node:[\w/]+)"\)/g;
const builtin = (mod) => `process.getBuiltinModule(${JSON.stringify(mod)})`;
for (const file of Object.keys(result.metafile.outputs)) {
  const src = readFileSync(file, 'utf8');
  const heads = [];
  const body = src
    .replace(STATIC, (_, named, ns, def, mod) => {
      heads.push(named !== undefined ? `const {${named.replace(/ as /g, ': ')}} = ${builtin(mod)};` : `const ${ns ?? def} = ${builtin(mod)};`);
      return '';
    })
    .replace(DYNAMIC, (_, mod) => `Promise.resolve(${builtin(mod)})`);
  if (/\b(from|import\() ?"node:/.test(body)) throw new Error(`bundle-suggest: ${file} imports a builtin in a form this script does not rewrite`);
  const shebang = body.startsWith('#!') ? body.slice(0, body.indexOf('\n') + 1) : '';
  writeFileSync(file, `${shebang}${heads.join('\n')}\n${body.slice(shebang.length)}`);
}
console.log(`bundle-suggest: ${readdirSync(join(DIST, CHUNKS)).length + 1} files`);
