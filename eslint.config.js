// Lint: the package boundaries the brief states, checked on every test run
// (./scripts/test runs `pnpm lint` before the tests), plus promises nobody
// awaits. Style is left to the compiler's strictness and review.
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Workspace packages a package's shipped source must never import. */
const FORBIDDEN = {
  // core depends on nothing of ours.
  core: ['client', 'cli', 'control-plane', 'prediction-node', 'testkit', 'bench', 'e2e', 'console'],
  // client speaks the protocols only: core, nothing else of ours.
  client: ['cli', 'control-plane', 'prediction-node', 'testkit', 'bench', 'e2e', 'console'],
  // The two servers never import each other; test code never ships.
  'prediction-node': ['control-plane', 'client', 'cli', 'testkit', 'bench', 'e2e', 'console'],
  'control-plane': ['prediction-node', 'client', 'cli', 'testkit', 'bench', 'e2e'],
  cli: ['testkit', 'bench', 'e2e'],
  testkit: ['cli', 'bench', 'e2e'],
};

/** One no-restricted-imports rule per package: its forbidden neighbours, and nobody's src/ reached into. */
function boundaries(pkg, forbidden) {
  return {
    files: [`packages/${pkg}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...forbidden.map((name) => ({
              group: [`@switchyard/${name}`, `@switchyard/${name}/*`],
              message: `packages/${pkg} must not depend on @switchyard/${name} (see the boundaries in README.md)`,
            })),
            { group: ['@switchyard/*/src/*', '@switchyard/*/dist/*'], message: "import a package's public entry, not its files" },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['packages/*/src/**/*.{ts,tsx}', 'packages/*/test/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    rules: {
      // A promise nobody awaits loses its rejection: say `void` where that is meant.
      '@typescript-eslint/no-floating-promises': 'error',
      // Another package's files by relative path bypass its package.json and exports.
      'import-x/no-relative-packages': 'error',
    },
  },
  {
    // Shipped source may import only what its package.json declares as a
    // dependency (type-only imports excepted: they vanish when compiled).
    files: ['packages/*/src/**/*.{ts,tsx}'],
    rules: { 'import-x/no-extraneous-dependencies': ['error', { devDependencies: false, optionalDependencies: false, peerDependencies: true }] },
  },
  {
    files: ['packages/*/test/**/*.ts'],
    rules: { 'import-x/no-extraneous-dependencies': ['error', { devDependencies: true, peerDependencies: true }] },
  },
  ...Object.entries(FORBIDDEN).map(([pkg, forbidden]) => boundaries(pkg, forbidden)),
);
