import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The production install and the Dockerfile's steps compile better-sqlite3 (minutes): `npm run test:install`.
    exclude: [...configDefaults.exclude, 'test/install/**'],
    // The CLI runs the compiled dist/: build it from the current sources before the tests spawn it.
    globalSetup: ['test/global-setup.ts'],
    // Integration suites share one MariaDB server; each creates its own databases,
    // but running them in parallel on 2 cores mostly adds lock contention.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
