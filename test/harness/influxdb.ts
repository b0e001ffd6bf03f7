export { startInfluxDB, type RunningInfluxDB } from '@poste/telemetry-store/testing';
