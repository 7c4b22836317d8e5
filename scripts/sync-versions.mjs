// After `changeset version`: write each published package's version into its
// src/version.ts, so plugins report the version they ship in (meta.version).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../packages/', import.meta.url).pathname;
for (const name of readdirSync(root)) {
  const manifest = join(root, name, 'package.json');
  const target = join(root, name, 'src', 'version.ts');
  if (!existsSync(manifest) || !existsSync(target)) continue;
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  writeFileSync(
    target,
    `// Written by scripts/sync-versions.mjs from package.json; do not edit by hand.\n/** The version of this package, reported in its plugins' \`meta.version\`. */\nexport const VERSION = '${version}';\n`,
  );
  console.log(`${name}: ${version}`);
}
