/**
 * Errors made fit to cross threads: structured clone keeps only the message and stack and loses the
 * class. serialize-error keeps every own property (a driver's errno, code and fatal flag, a cause)
 * and rebuilds BridgeError as a BridgeError, so its code, hint and exit code reach the main thread.
 */
import { addKnownErrorConstructor, deserializeError as fromPlainObject, type ErrorObject, serializeError as toPlainObject } from 'serialize-error';
import { BridgeError } from '../errors.ts';

addKnownErrorConstructor(BridgeError, () => new BridgeError('INTERNAL', ''));

/** An error as it crosses: a plain object that survives structured clone. */
export type SerializedError = ErrorObject;

export const serializeError = (e: unknown): SerializedError => toPlainObject(e);

export const deserializeError = (s: SerializedError): Error => fromPlainObject(s);
