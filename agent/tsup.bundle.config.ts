import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

// The installable agent: dist/bundle/poste-agent.mjs (and poste-agent-launcher.mjs, which starts it from its A/B slots), everything (workspace packages and npm
// dependencies) bundled into one file that runs with a plain `node` ≥ 20 — what agent/packaging
// ships (systemd unit, OpenWrt procd script, Debian package by scripts/build-agent-deb.sh).
export default defineConfig({
  // The launcher is its own file: an update replaces the agent bundle in a slot, never the launcher.
  entry: { 'poste-agent': 'src/cli.ts', 'poste-agent-launcher': 'src/extensions/ota/self/launcher-cli.ts' },
  outDir: 'dist/bundle',
  outExtension: () => ({ js: '.mjs' }),
  format: ['esm'],
  dts: false,
  clean: true,
  splitting: false,
  target: 'node20',
  platform: 'node',
  noExternal: [/.*/],
  // workspace packages from their sources: the bundle never depends on their dist being fresh
  esbuildOptions(o) {
    o.conditions = ['source'];
    // V8 keeps a script's whole source in the heap: without comments and indentation the bundle is
    // 1.4 MB instead of 2.1 MB and the agent's idle heap 2.4 MB smaller (npm run bench -- gateway-latency).
    // Names are kept, so a stack trace still says which function failed.
    o.minifyWhitespace = true;
    o.minifySyntax = true;
    // MQTT.js's and mqtt-packet's per-packet debug calls, for a DEBUG variable the agent never
    // reads: a logger that writes nothing (src/core/debug-off.cjs says why).
    o.alias = { debug: fileURLToPath(new URL('./src/core/debug-off.cjs', import.meta.url)) };
  },
  // The CommonJS dependencies (mqtt, mqtt-packet, pino) call require() for Node built-ins; an ES module
  // has none, so the bundle gets one.
  banner: {
    js: "import { createRequire as posteCreateRequire } from 'node:module';\nconst require = posteCreateRequire(import.meta.url);",
  },
});
