import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // mqtt is hoisted from the workspace (used by the fleet link); keep it external like the listed deps.
  external: ['mqtt'],
});
