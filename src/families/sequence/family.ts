import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition } from '../types.js';

/** Nova's per-conversation message sequence numbers and conversation counters. */
export const sequenceFamily: FamilyDefinition = {
  name: 'sequence',
  title: "Nova's messages.sequence_number and conversation counters",
  migrationsDir: migrationsDir('sequence'),
  sourcesDir: migrationSourcesDir('sequence'),
  baseTables: [
    { table: 'conversations', columns: ['id'] },
    { table: 'conversation_members', columns: ['conversation_id'] },
    { table: 'messages', columns: ['id', 'conversation_id', 'created_at', 'content'] },
  ],
  // Loaded when a migration runs: check and resync, which load the registry too, never need it.
  preflight: (client, schema, options) =>
    import('./preflight.js').then((m) => m.sequencePreflight(client, schema, options)),
  // The backfill (0007) numbers messages and computes the counters; Nova's row triggers on
  // messages (its search index) must not fire on it, and nothing of the family needs its own to.
  backfillWrites: [
    { table: 'messages', columns: ['sequence_number', 'content_tsv'] },
    {
      table: 'conversations',
      columns: ['last_sequence_number', 'member_count', 'last_message_id', 'last_message_at'],
    },
  ],
  resyncTargetNames: ['conversation-stats', 'sequence-numbers'],
  loadResyncTargets: async () => {
    const [stats, numbers] = await Promise.all([
      import('./resyncStats.js'),
      import('./resyncNumbers.js'),
    ]);
    return [stats.conversationStatsTarget, numbers.sequenceNumbersTarget];
  },
  loadDemo: () => import('./demo.js').then((m) => m.sequenceDemo),
};
