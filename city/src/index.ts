export { startCity, type City, type CityOptions, type CityStatus, type CityStopOptions, type CityStopReport } from './city';
export {
  CHECKPOINT_FILE,
  GROUND_TRUTH_FILE,
  GroundTruthFileSchema,
  groundTruthOf,
  readCityCheckpoint,
  readGroundTruth,
  writeCityCheckpoint,
  type CityCheckpoint,
  type GroundTruthFile,
} from './checkpoint';
export { verifyAgainstGroundTruth, ENERGY_TOLERANCE, type Verification } from './verify';
export { inventoryForCity } from './inventory';
export { CITY_PROGRAM_VERSION, dimmingConfigFor } from './dimming-programs';
export { DASHBOARD_SERVICE_USER, provisionCredentials, type CitySecrets } from './secrets';
export { redisAnswersPing } from './redis-server';
