export { startCity, type City, type CityOptions, type CityStatus } from './city';
export { inventoryForCity } from './inventory';
export { CITY_PROGRAM_VERSION, dimmingConfigFor } from './dimming-programs';
export { DASHBOARD_SERVICE_USER, provisionCredentials, type CitySecrets } from './secrets';
