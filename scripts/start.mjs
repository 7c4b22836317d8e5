// `npm start`: build the `normkit` command and only the packages it imports (through turbo,
// cached), printing each package as its build starts, then gradcheck every built-in plugin
// and run the PyTorch vectors shipped in @normkit/conformance. Exit code: the worst of the three.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const normkit = fileURLToPath(new URL('../packages/cli/bin/normkit.js', import.meta.url));

/** Runs a command; resolves with its exit code. `onLine` receives stdout lines (else stdout is inherited). */
function run(command, args, onLine) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', onLine ? 'pipe' : 'inherit', 'inherit'] });
    if (onLine) createInterface({ input: child.stdout }).on('line', onLine);
    child.on('error', (e) => {
      console.error(`npm start: cannot run ${command}: ${e.message}`);
      resolve(2);
    });
    child.on('close', (code) => resolve(code ?? 2));
  });
}

const started = Date.now();
console.log('npm start: building the normkit command and the packages it needs (turbo; the first build takes a minute or two, later ones are cached)');
let total = '?';
let seen = 0;
const built = await run(process.execPath, [fileURLToPath(new URL('../node_modules/turbo/bin/turbo', import.meta.url)), 'run', 'build', '--filter=@normkit/cli...', '--output-logs=hash-only'], (line) => {
  const scope = /Running build in (\d+) packages/.exec(line);
  if (scope) total = scope[1];
  const task = /^(@normkit\/[\w-]+):build: (cache hit|cache miss|cache bypass)/.exec(line);
  if (task) {
    seen += 1;
    console.log(`  [${seen}/${total}] ${task[1]}${task[2] === 'cache hit' ? ' (cached)' : ': building'}`);
  }
  if (/ERROR|error TS|failed/i.test(line) && !task) console.log(line);
});
if (built !== 0) {
  console.error(`npm start: the build failed (exit code ${built}); run \`npx turbo run build --filter=@normkit/cli...\` to see why`);
  process.exit(built);
}
console.log(`  built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
console.log('$ normkit gradcheck   (every built-in plugin: backward passes against finite differences)');
const gradcheck = await run(process.execPath, [normkit, 'gradcheck']);
console.log('\n$ normkit conformance   (the PyTorch 1.13.1 vectors shipped in @normkit/conformance)');
const conformance = await run(process.execPath, [normkit, 'conformance']);
process.exit(Math.max(gradcheck, conformance));
