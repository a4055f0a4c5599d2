/**
 * The typed record of every table. Each feature's tables are declared here, next to each
 * other, so the whole data model reads in one place; migrations in `migrations/` create them.
 */
// biome-ignore lint/complexity/noBannedTypes: features add their tables to this record
export type Database = {};
