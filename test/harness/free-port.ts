// The loopback port and polling helpers live with the store's test kit; the tests here share them.
export { freePort, waitFor } from '@poste/telemetry-store/testing';
