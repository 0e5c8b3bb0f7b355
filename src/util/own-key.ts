/**
 * Sets `key` on `target` as an own, enumerable data property. Plain assignment would treat a key
 * named `__proto__` as the prototype, and user data (MLMD properties, struct values, JSON from
 * run_details) may hold one; defineProperty costs ten times an assignment, so only that key takes it.
 */
export function setOwnKey<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
