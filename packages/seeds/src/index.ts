// @instances-api/seeds: the Create Instance guides as test fixtures.
export { readSeeds, parseSeed, seedsDir, guidesPresent, guidesIfPresent } from "./read-seeds.js";
export type { Seed, Json, JsonObject } from "./read-seeds.js";
export { correctedResponse } from "./known-defects.js";
export { fillPlaceholders, placeholderValue, placeholderEntries, isPlaceholder, fillAuthorization } from "./placeholders.js";
