// One flat lint config for the whole repository (run by `pnpm lint` before
// the tests in CI). Type checking itself is tsc's job (`tsc --build`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import n from 'eslint-plugin-n';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'native/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { n },
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly', performance: 'readonly', document: 'readonly', window: 'readonly', WebSocket: 'readonly' },
    },
    rules: {
      'n/prefer-node-protocol': 'error',
      'n/no-process-exit': 'error',
      'no-empty': ['error', { allowEmptyCatch: true }],
      // A closure may read a variable before its one assignment (a server's handler reading the daemon it serves).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Scripts, examples, benchmarks and test fixtures are programs whose job
    // ends with an exit status; test code may poke at loosely typed JSON.
    files: ['examples/**', 'bench/**', 'scripts/**', 'packages/*/test/**', 'packages/*/bench/**'],
    rules: { 'n/no-process-exit': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The CommonJS launchers of the short-lived CLIs (packages/common/src/launcher.cts says why).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', module: 'writable' } },
    // Line 2 of a launcher is `true //; ...`: a statement for sh, a bare expression for JS.
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
