import { schemaCheck } from '../../src/checks/schemaCheck.js';

/** partition_lookup, its indexes, function and trigger as lookup's migrations installed them. */
export default schemaCheck({
  id: 'lookup.schema',
  title:
    'partition_lookup, its indexes, function and AFTER INSERT FOR EACH STATEMENT trigger (with transition table) on messages, enabled',
  hint: 'dbops migrate redo lookup --count 3',
});
