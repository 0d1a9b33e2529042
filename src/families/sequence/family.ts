import { migrationSourcesDir, migrationsDir } from '../../paths.js';
import type { FamilyDefinition } from '../types.js';
import { sequencePreflight } from './preflight.js';
import { sequenceNumbersTarget } from './resyncNumbers.js';
import { conversationStatsTarget } from './resyncStats.js';

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
  preflight: sequencePreflight,
  // The backfill (0007) numbers messages and computes the counters; Nova's row triggers on
  // messages (its search index) must not fire on it, and nothing of the family needs its own to.
  backfillWrites: [
    { table: 'messages', columns: ['sequence_number', 'content_tsv'] },
    {
      table: 'conversations',
      columns: ['last_sequence_number', 'member_count', 'last_message_id', 'last_message_at'],
    },
  ],
  resyncTargets: [conversationStatsTarget, sequenceNumbersTarget],
  loadDemo: () => import('./demo.js').then((m) => m.sequenceDemo),
};
