import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  // declarations for the library (startCloud); the CLI is a command, not an import
  dts: { entry: ['src/index.ts'] },
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
});
