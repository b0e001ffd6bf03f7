export * from './cli-args';
export { isEntryPoint, runIfEntryPoint } from './entry-point';
