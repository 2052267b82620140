import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A real payload from the marketplaces' or the platforms' docs, under `fixtures/events/`. */
export const loadFixture = <T = unknown>(source: string, variant: string): T =>
  JSON.parse(
    readFileSync(join(__dirname, 'fixtures', 'events', source, `${variant}.json`), 'utf8'),
  ) as T;
