// `@poste/protocol/mqtt-guard`: MQTT framing checked as bytes arrive, for the cloud broker and the
// agent's LAN endpoint alike. A sub-path, so the contract's main entry stays free of node:net.
export { MqttFrameScanner, type FrameScannerOptions, type FrameViolation } from './frame-scanner';
export { GuardedConnection, type FrameLimits, type GuardViolation } from './guarded-connection';
