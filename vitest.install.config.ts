import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `npm run test:install`: the production install and the Dockerfile's steps, each compiling better-sqlite3
// (minutes), kept out of `npm test` (see test/install/).
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/install/**/*.test.ts'], exclude: [...configDefaults.exclude] },
});
