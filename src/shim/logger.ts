/** The shim logs through the CLI's structured logger (src/log/logger.ts); these are its names here. */
export { type BridgeLogger as ShimLogger, type LogFields, jsonLogger, silentLogger, textLogger } from '../log/logger.ts';
