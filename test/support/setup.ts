import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { startTestApp, type TestApp, type TestAppOptions } from './app.ts';
import { openTestDatabase, type TestDatabase, truncate } from './db.ts';

interface Closable {
  close(): Promise<void>;
}

/**
 * A resource a test file shares — a database, a fake upstream, the app — opened before the
 * file's first test (or each test, with `each`) and closed after it, in reverse order of
 * opening. The value returned stands for the resource: tests use it as they would the object
 * itself (`fake.requests`, `app.app.inject(…)`); touching it outside a test is an error.
 */
export function useFixture<T extends Closable>(open: () => Promise<T>, options: { each?: boolean } = {}): T {
  let resource: T | undefined;
  const [before, after] = options.each ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    resource = await open();
  });
  after(async () => {
    await resource?.close();
    resource = undefined;
  });
  return new Proxy({} as T, {
    get(_target, property) {
      if (!resource) throw new Error(`fixture read outside a test (property ${String(property)})`);
      const value = Reflect.get(resource, property, resource);
      return typeof value === 'function' ? value.bind(resource) : value;
    },
    set(_target, property, value) {
      if (!resource) throw new Error(`fixture written outside a test (property ${String(property)})`);
      return Reflect.set(resource, property, value, resource);
    },
  });
}

/** A migrated database of the file's own; `truncateBeforeEach` empties those tables before every test. */
export function useTestDatabase(options: { truncateBeforeEach?: readonly string[] } = {}): TestDatabase {
  const database = useFixture(openTestDatabase);
  const tables = options.truncateBeforeEach ?? [];
  if (tables.length > 0) beforeEach(() => truncate(database, ...tables));
  return database;
}

/**
 * The real app over a test database. Options may be a function, read when the app starts,
 * so they can name fixtures opened before it (a fake's URL, the database).
 */
export function useTestApp(options: TestAppOptions | (() => TestAppOptions), each = false): TestApp {
  return useFixture(() => startTestApp(typeof options === 'function' ? options() : options), { each });
}

/**
 * For what a test opens itself, with options of its own: `closeAfterTest(resource)` hands the
 * resource back and closes it when the test ends, passed or failed, in reverse order of opening.
 */
export function useCloseAfterTest(): <T extends Closable>(resource: T) => T {
  const opened: Closable[] = [];
  afterEach(async () => {
    while (opened.length > 0) await opened.pop()?.close();
  });
  return (resource) => {
    opened.push(resource);
    return resource;
  };
}
