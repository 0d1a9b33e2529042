/** The four migration families dbops knows; the allowlist for every family argument. */
export const FAMILY_NAMES = ['lookup', 'partition', 'checkpoint', 'sequence'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

export function isFamilyName(name: string): name is FamilyName {
  return (FAMILY_NAMES as readonly string[]).includes(name);
}
