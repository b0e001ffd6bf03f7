import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  // the declarations cover the library; the CLI is a command, not an import
  dts: { entry: ['src/index.ts'] },
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
  // mqtt is hoisted from the workspace (used by the fleet link); keep it external like the listed deps.
  external: ['mqtt'],
});
