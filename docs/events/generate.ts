// npm run docs:events: writes the event catalogue (schemas and README) under docs/events/.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderEventDocs, versionFolder } from './render';

const files = renderEventDocs();
// A schema whose type left the catalogue must not stay behind, still published.
const folder = join(__dirname, versionFolder());
mkdirSync(folder, { recursive: true });
for (const name of readdirSync(folder, { withFileTypes: true }).map((entry) => entry.name)) {
  if (!files.has(`${versionFolder()}/${name}`)) rmSync(join(folder, name));
}
for (const [path, content] of files) {
  const target = join(__dirname, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
}
console.log(`wrote ${files.size} files under docs/events/`);
