import { sequenceHarness } from './families/sequence.js';
import { defineKillSuite } from './lib/killSuite.js';

defineKillSuite(sequenceHarness);
