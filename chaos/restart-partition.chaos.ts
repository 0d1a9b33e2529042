import { partitionHarness } from './families/partition.js';
import { defineKillSuite } from './lib/killSuite.js';

// Server restarts (fast, and immediate = crash recovery) on a throwaway cluster of this file's own.
defineKillSuite(partitionHarness, 'restart');
