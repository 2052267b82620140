/** @jest-config-loader esbuild-register */
import type { Config } from 'jest';

const transform: Config['transform'] = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
const ignored = ['/node_modules/', '/.serverless/', '/.esbuild/', '/.local/'];

const config: Config = {
  // Two cores: one worker per core keeps DynamoDB Local and the tests from starving each other.
  maxWorkers: 2,
  // Integration cases page through 1,000 rows on a shared machine; jest reads this only here.
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/**/*.test.ts'],
      testPathIgnorePatterns: [...ignored, '\\.int\\.test\\.ts$'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/**/*.int.test.ts'],
      testPathIgnorePatterns: ignored,
      globalSetup: '<rootDir>/test/engines/global-setup.ts',
      globalTeardown: '<rootDir>/test/engines/global-teardown.ts',
    },
  ],
};

export default config;
