import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tableDefinition } from '../shared/adapters/dynamodb/table';
import { ENV_VAR_NAMES } from '../shared/config/env';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}

const root = join(__dirname, '..');
const bySorted = <T>(items: T[] | undefined, key: (item: T) => string) =>
  [...(items ?? [])].sort((a, b) => key(a).localeCompare(key(b)));

describe('serverless package', () => {
  const out = mkdtempSync(join(tmpdir(), 'sls-'));
  let resources: Record<string, Resource>;

  beforeAll(async () => {
    await promisify(execFile)('npx', ['serverless', 'package', '--package', out], {
      cwd: root,
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      timeout: 120_000,
    });
    const template = JSON.parse(
      readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as { Resources: Record<string, Resource> };
    resources = template.Resources;
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('declares the table exactly as the DynamoDB adapter defines it', () => {
    const table = resources.StateTable!;
    const expected = tableDefinition('ignored');
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    const props = table.Properties as Record<string, never>;
    const byName = (a: { AttributeName?: string }) => a.AttributeName ?? '';
    expect(bySorted(props.AttributeDefinitions, byName)).toEqual(
      bySorted(expected.AttributeDefinitions, byName),
    );
    expect(props.KeySchema).toEqual(expected.KeySchema);
    expect(
      bySorted(props.GlobalSecondaryIndexes, (i: { IndexName?: string }) => i.IndexName ?? ''),
    ).toEqual(bySorted(expected.GlobalSecondaryIndexes, (i) => i.IndexName ?? ''));
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('runs every function on nodejs22.x with only variables the code reads', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(variables.STORE_BACKEND).toBe('dynamodb');
      for (const name of Object.keys(variables).filter((n) => n !== 'NODE_ENV')) {
        expect(ENV_VAR_NAMES).toContain(name);
      }
    }
  });
});
