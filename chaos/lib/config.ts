/**
 * Sizes of a chaos run, from the environment (`npm run chaos` and `npm run chaos:smoke` set
 * CHAOS_PROFILE; every number can be overridden):
 * - CHAOS_HISTORIES: randomized histories in total, split over the four families (full 1000, smoke 32);
 * - CHAOS_KILLS: kill points at time offsets per operation (full 6, smoke 1), besides the
 *   progress-hook kills and the server-side session cut, which are always run;
 * - CHAOS_RESTARTS: server restarts at time offsets per operation (full 3, smoke 1; 0 skips the
 *   restart points, which need initdb and pg_ctl for a throwaway cluster);
 * - CHAOS_MIX_MS: how long each family's write mix runs (full 20000, smoke 2000);
 * - CHAOS_SEED: fast-check seed (default: random, printed);
 * - CHAOS_FAMILIES: comma-separated subset of families.
 */
export interface ChaosConfig {
  profile: 'full' | 'smoke';
  histories: number;
  killsPerOperation: number;
  restartsPerOperation: number;
  mixMs: number;
  seed: number;
  families: string[];
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

export function chaosConfig(): ChaosConfig {
  const profile = process.env.CHAOS_PROFILE === 'smoke' ? 'smoke' : 'full';
  const smoke = profile === 'smoke';
  return {
    profile,
    histories: num('CHAOS_HISTORIES', smoke ? 32 : 1000),
    killsPerOperation: num('CHAOS_KILLS', smoke ? 1 : 6),
    restartsPerOperation: num('CHAOS_RESTARTS', smoke ? 1 : 3),
    mixMs: num('CHAOS_MIX_MS', smoke ? 2000 : 20_000),
    seed: num('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31)),
    families: (process.env.CHAOS_FAMILIES ?? 'lookup,partition,sequence,checkpoint')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}
