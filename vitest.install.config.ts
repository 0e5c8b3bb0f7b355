import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `npm run test:install`: the slow production-install test, kept out of `npm test` (see test/install/).
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/install/**/*.test.ts'], exclude: [...configDefaults.exclude] },
});
