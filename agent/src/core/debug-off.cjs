// What the gateway bundle has in place of the `debug` package (agent/tsup.bundle.config.ts aliases
// it here; CommonJS because mqtt-packet calls `require('debug')(namespace)` directly). MQTT.js and
// mqtt-packet call their debug loggers on every packet — the parser several times per packet, with
// arguments built for a message nobody reads: the agent logs through pino, and `debug` would be
// switched on by a DEBUG environment variable, which the agent does not read (its settings are its
// config file and POSTE_ variables in cli.ts). Without V8's optimizing compiler (the unit's
// --max-opt=1) those calls were the largest single item of the agent's own CPU per command in the
// gateway-latency profile (≈ 5 %). Run from source, the libraries keep the real `debug`.
'use strict';

/** One shared logger that writes nothing; the properties are the ones a debug logger has. */
const off = Object.assign(() => undefined, {
  enabled: false,
  namespace: '',
  extend: () => off,
  destroy: () => false,
});

/** `require('debug')(namespace)` */
function createDebug() {
  return off;
}

// The factory's own API (debug.enable('mqttjs*') and friends): accepted, nothing is ever enabled.
createDebug.enable = () => undefined;
createDebug.disable = () => '';
createDebug.enabled = () => false;
createDebug.debug = createDebug;
createDebug.default = createDebug;

module.exports = createDebug;
