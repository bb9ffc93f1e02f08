export { Random, mulberry32, seedFromEnv } from './random.js';
