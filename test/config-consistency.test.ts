import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV_VARS, ENV_VAR_NAMES } from '../shared/config/env';

const root = join(__dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('configuration is defined once', () => {
  it('documents every variable in the README table with its default', () => {
    const rows = read('README.md')
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    for (const name of ENV_VAR_NAMES) {
      const row = rows.find((cells) => cells[1] === `\`${name}\``);
      const spec = ENV_VARS[name];
      expect(row?.slice(2, 5)).toEqual([
        spec.description,
        spec.defaultValue ?? 'required',
        spec.readBy,
      ]);
    }
  });
});
