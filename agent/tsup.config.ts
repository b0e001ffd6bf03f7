import { defineConfig } from 'tsup';

// The gateway gets self-contained files: @poste/protocol and @poste/spool are bundled in (noExternal); the npm
// dependencies (mqtt, mqtt-packet, bl, zod, pino) stay external and install beside it. The installable single-file agent
// (everything bundled, for agent/packaging) is tsup.bundle.config.ts, built after this one.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts', 'src/scheduler/index.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts', 'src/scheduler/index.ts'] },
  clean: true,
  target: 'node20',
  platform: 'node',
  noExternal: ['@poste/protocol', '@poste/spool'],
});
