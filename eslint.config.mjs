// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.serverless/', '.esbuild/', '.local/', 'coverage/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Build plugins loaded by serverless-esbuild with require().
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
        {
          selector:
            'CallExpression[callee.object.name=/^(it|test|describe)$/][callee.property.name=/^(only|skip)$/]',
          message: 'Focused or skipped tests do not belong on main.',
        },
      ],
    },
  },
  {
    // SDKs belong to adapters only.
    files: ['shared/domain/**/*.ts', 'shared/app/**/*.ts', 'shared/ports/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@aws-sdk/*',
            '@google-cloud/*',
            'googleapis',
            '../adapters/*',
            '../../adapters/*',
          ],
        },
      ],
    },
  },
  {
    // The domain is pure: no SDK, no platform, no environment, no clock.
    files: ['shared/domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@aws-sdk/*',
            '@google-cloud/*',
            'googleapis',
            'aws-lambda',
            'node:*',
            '../adapters/*',
            '../app/*',
            '../ports/*',
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'The domain reads no environment.' },
        { object: 'Date', property: 'now', message: 'Time comes from deps.clock.' },
      ],
    },
  },
  {
    // Jest and tooling entry points are loaded by default export.
    files: ['eslint.config.mjs', 'jest.config.ts', 'test/engines/global-*.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
