import { pgliteTemplateDir, preparePgliteTemplate } from '../db/pglite-template.ts';

/**
 * The postinstall step: prepares the embedded database's template so the first `npm start`
 * copies it instead of running initdb. Never fails the install: without a template the first
 * start runs initdb, as it would anyway.
 */
try {
  const started = Date.now();
  if (await preparePgliteTemplate()) {
    console.log(
      `raptor: embedded database template prepared in ${Date.now() - started} ms (${pgliteTemplateDir()})`,
    );
  }
} catch (error) {
  console.warn(
    `raptor: no embedded database template (${error instanceof Error ? error.message : String(error)}); the first npm start runs initdb instead`,
  );
}
