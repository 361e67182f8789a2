// Preloaded by bench/resident.mjs --cuts (node --require): v8.setFlagsFromString does nothing, so
// pguard runs as it would without the V8 flags its long-lived commands set (effects/v8-trim.ts).
require('node:v8').setFlagsFromString = () => {};
