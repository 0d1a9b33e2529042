import { lookupHarness } from './families/lookup.js';
import { defineKillSuite } from './lib/killSuite.js';

defineKillSuite(lookupHarness);
