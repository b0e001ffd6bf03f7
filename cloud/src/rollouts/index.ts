export { inProcessBus, type OtaBus } from './ota-bus';
export { type OtaServer, type OtaServerOptions, type ServedImage, startOtaServer } from './ota-server';
