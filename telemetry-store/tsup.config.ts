import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // `node:test` (used by the testing entry) exists only with its prefix; tsup strips it by default.
  removeNodeProtocol: false,
});
