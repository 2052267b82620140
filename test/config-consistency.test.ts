import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_VARS, ENV_VAR_NAMES } from '../shared/config/env';

const root = join(__dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** The keys of the `environment:` block under `provider:` in serverless.yml. */
const serverlessEnvironment = (): string[] => {
  const lines = read('serverless.yml').split('\n');
  const start = lines.findIndex((line) => /^ {2}environment:\s*$/.test(line));
  const keys: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const match = /^ {4}([A-Z][A-Z0-9_]*):/.exec(line);
    if (!match) break;
    keys.push(match[1]!);
  }
  return keys;
};

describe('configuration is defined once', () => {
  it('documents every variable in the README table with its default', () => {
    const readme = read('README.md');
    for (const name of ENV_VAR_NAMES) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row).toBeDefined();
      const spec = ENV_VARS[name];
      expect(row).toContain(spec.description);
      expect(row).toContain(spec.defaultValue ?? 'required');
    }
  });

  it('sets in serverless.yml only variables the code reads (besides NODE_ENV)', () => {
    const keys = serverlessEnvironment();
    expect(keys).toContain('TABLE_NAME');
    for (const key of keys.filter((k) => k !== 'NODE_ENV')) {
      expect(ENV_VAR_NAMES).toContain(key);
    }
  });
});
