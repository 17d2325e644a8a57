import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.sc/', 'cdk.out/', 'coverage/', 'bench-output/', '**/.sc/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The core is pure: it never reaches for I/O, the AWS SDK, chDB or exceljs (STYLE.md rule 1).
    files: ['lambdas/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'child_process'], message: 'The core does no I/O.' },
            {
              group: ['@aws-sdk/*', 'chdb', 'exceljs', 'dynalite'],
              message: 'The core never imports an adapter.',
            },
            {
              group: ['**/adapters/**', '**/pipeline/**', '**/local/**', '**/handlers/**'],
              message: 'The core depends on nothing outside itself.',
            },
          ],
        },
      ],
    },
  },
);
