export { inProcessBus, type OtaBus } from './ota-bus';
export { type OtaServer, type OtaServerOptions, type ServedImage, startOtaServer } from './ota-server';
export { jobIdOf, openRolloutManager, type RolloutManager, type RolloutManagerOptions, type RolloutResult } from './rollout-manager';
export { decide, planStages, type RolloutDecision } from './rollout-plan';
