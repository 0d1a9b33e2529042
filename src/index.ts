/** The package entry point: the library API (the CLI is bin/dbops.js). */
export * from './api.js';
