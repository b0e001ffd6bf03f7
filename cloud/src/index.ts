export { startCloud, type Cloud, type CloudOptions } from './cloud';
export { DEFAULT_SERVICE_USER, ensureServiceCredential, servicePasswordFile, type ServiceCredential } from './service-credential';
export * from './rollouts/index';
