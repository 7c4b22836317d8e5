/**
 * Sets `record[key] = value` as an own, enumerable data property, even for keys such as
 * `"__proto__"` that a plain assignment would treat as the prototype setter. Names read
 * from a file are data, and every name must come back as an entry.
 *
 * @param record - the record being filled
 * @param key - the entry name
 * @param value - the entry value
 */
export function setOwnEntry<V>(record: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
