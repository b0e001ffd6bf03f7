export * from './cli-args';
export { isEntryPoint, runIfEntryPoint } from './entry-point';
export { runServeCommand, type ServeCommandSpec } from './serve-command';
