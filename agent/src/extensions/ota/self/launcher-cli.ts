#!/usr/bin/env node
// poste-agent-launcher: what the systemd unit and the procd script start. Bundled on its own
// (dist/bundle/poste-agent-launcher.mjs) so an update of the agent never replaces it.
import { parseArgs } from 'node:util';
import { runLauncher } from './launcher';

const HELP = `poste-agent-launcher — starts the Poste gateway agent from its A/B slots

Usage: poste-agent-launcher --slots DIR --factory FILE [--attempts N] [--trial-ms MS] -- AGENT_ARGS…

  --slots DIR      where the slots live: DIR/a/agent.mjs, DIR/b/agent.mjs, DIR/state.json
  --factory FILE   the packaged bundle: seeds the slots, and replaces them after a package upgrade
  --attempts N     starts a new bundle gets to pass its health check before it is rolled back (default 3)
  --trial-ms MS    how long a new bundle has to connect north and serve its LAN endpoint (default 60000)
  -h, --help       this text

Everything after -- goes to the agent (e.g. --config /etc/poste/agent.json --ota-trust FILE --ota-model M).
Exit codes: those of the agent; 1 also when a new bundle on trial was rolled back; 2 usage error.
`;

function fail(message: string): never {
  process.stderr.write(`poste-agent-launcher: ${message}\n\n${HELP}`);
  process.exit(2);
}

let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>;
const options = {
  slots: { type: 'string' },
  factory: { type: 'string' },
  attempts: { type: 'string' },
  'trial-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;
try {
  parsed = parseArgs({ args: process.argv.slice(2), options, allowPositionals: true, strict: true });
} catch (err) {
  fail((err as Error).message);
}
const v = parsed.values;
if (v.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (!v.slots) fail('missing --slots');
if (!v.factory) fail('missing --factory');
const attempts = Number(v.attempts ?? '3');
const trialMs = Number(v['trial-ms'] ?? '60000');
if (!Number.isInteger(attempts) || attempts < 1 || attempts > 20) fail(`--attempts ${v.attempts}: an integer from 1 to 20`);
if (!Number.isInteger(trialMs) || trialMs < 1_000 || trialMs > 3_600_000)
  fail(`--trial-ms ${v['trial-ms']}: an integer from 1000 to 3600000`);

runLauncher({
  slotsDir: v.slots,
  factoryFile: v.factory,
  maxAttempts: attempts,
  trialMs,
  agentArgs: parsed.positionals,
  log: (line) => process.stderr.write(`poste-agent-launcher: ${line}\n`),
}).catch((err: unknown) => {
  process.stderr.write(`poste-agent-launcher: cannot start the agent: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
