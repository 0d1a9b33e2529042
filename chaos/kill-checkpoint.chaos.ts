import { checkpointHarness } from './families/checkpoint.js';
import { defineKillSuite } from './lib/killSuite.js';

defineKillSuite(checkpointHarness);
