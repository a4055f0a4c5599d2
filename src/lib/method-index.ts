/**
 * Which methods each registered path answers, so a known path asked with another method gets
 * 405 with `Allow` instead of a 404 that says the path does not exist.
 */
export function createMethodIndex() {
  const routes: Array<{ pattern: RegExp; methods: Set<string> }> = [];
  const byUrl = new Map<string, Set<string>>();

  return {
    add(url: string, method: string | string[]): void {
      let methods = byUrl.get(url);
      if (!methods) {
        methods = new Set();
        byUrl.set(url, methods);
        routes.push({ pattern: patternOf(url), methods });
      }
      for (const one of Array.isArray(method) ? method : [method]) methods.add(one.toUpperCase());
    },
    /** The methods some route answers at `path` (no query string), sorted; empty when none. */
    allowed(path: string): string[] {
      const methods = new Set<string>();
      for (const route of routes) {
        if (route.pattern.test(path)) for (const method of route.methods) methods.add(method);
      }
      return [...methods].sort();
    },
  };
}

/** `/a/:id/b` → `^/a/[^/]+/b$`; `*` matches the rest. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return '[^/]+';
      if (segment === '*') return '.*';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}
