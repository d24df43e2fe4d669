/**
 * Typed reads of naturalized dcmjs values. dcmjs turns a single value into a scalar and several into an array,
 * so every reader here accepts both.
 */
import type { Dataset } from './dcmjs';

function asList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** First value as a string ('' when absent). PN values come back as their Alphabetic group. */
export function str(ds: Dataset, keyword: string): string {
  const v = asList(ds[keyword])[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && v !== null && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic ?? '');
  return String(v).trim();
}

/** All values as strings (multi-valued CS such as ImageType, ScanningSequence). */
export function strs(ds: Dataset, keyword: string): string[] {
  return asList(ds[keyword]).map((v) => String(v).trim());
}

/** First value as a number, or undefined when absent or not numeric. */
export function num(ds: Dataset, keyword: string): number | undefined {
  const v = asList(ds[keyword])[0];
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** All values as numbers (NaN for any that are not numeric; dcmjs reads a DS of "NaN" as null, not 0). */
export function nums(ds: Dataset, keyword: string): number[] {
  return asList(ds[keyword]).map((v) => (v === null || v === undefined || v === '' ? NaN : Number(v)));
}

/** Items of a sequence. */
export function items(ds: Dataset, keyword: string): Dataset[] {
  return asList(ds[keyword]).filter((v): v is Dataset => typeof v === 'object' && v !== null);
}
