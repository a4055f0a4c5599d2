import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from './app.ts';
import { openTestDatabase, type TestDatabase } from './db.ts';

export interface TestContext {
  readonly database: TestDatabase;
  readonly app: TestApp;
}

/**
 * The setup most test files share: a fresh database for the file and the real app over it,
 * opened before the first test and closed after the last. Read `context.app` inside tests.
 */
export function useTestApp(options: Omit<TestAppOptions, 'db'> = {}): TestContext {
  let database: TestDatabase | undefined;
  let app: TestApp | undefined;
  beforeAll(async () => {
    database = await openTestDatabase();
    app = await startTestApp({ ...options, db: database.db });
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
  });
  return {
    get database() {
      if (!database) throw new Error('the test database opens in beforeAll');
      return database;
    },
    get app() {
      if (!app) throw new Error('the test app starts in beforeAll');
      return app;
    },
  };
}
