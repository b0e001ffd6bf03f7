import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/mqtt-guard/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
});
