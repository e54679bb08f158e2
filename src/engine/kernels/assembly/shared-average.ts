// Entry of the module instantiated on the shared exchange memory (src/engine/average-wasm.ts).
export { averageTwo } from './average';
