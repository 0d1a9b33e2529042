import { schemaCheck } from '../../src/checks/schemaCheck.js';

/** Columns, indexes (valid), functions and triggers as the sequence family's migrations installed them. */
export default schemaCheck({
  id: 'sequence.schema',
  title:
    'sequence columns, unique and composite indexes (valid), functions and triggers on messages and conversation_members, present and enabled',
  hint: 'dbops migrate redo sequence --count 7 (rebuilds triggers, functions and indexes, keeps the numbers), then dbops resync conversation-stats sequence-numbers',
});
