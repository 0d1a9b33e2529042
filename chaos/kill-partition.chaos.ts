import { partitionHarness } from './families/partition.js';
import { defineKillSuite } from './lib/killSuite.js';

defineKillSuite(partitionHarness);
