// Few rules, each catching a real bug class: unused code, promises nobody
// awaits (an unhandled rejection kills a worker), and type-only imports
// that must vanish when Node strips types.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.data/',
      '.test-data/',
      'models/cache/',
      'models/tiny/out/',
      'server/web/dist/',
      'server/web/dist.*/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test collects these itself; awaiting them would serialise the file.
        {
          allowForKnownSafeCalls: [
            { from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Model configs and ONNX protobufs are untyped JSON; `any` there is honest.
      '@typescript-eslint/no-explicit-any': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      // A hook registered before its handle is assigned reads it later, on purpose.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Tests match the CLI's column layout, where literal runs of spaces read better.
      'no-regex-spaces': 'off',
      // graphile-config is extended by declaration merging into its namespace.
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
