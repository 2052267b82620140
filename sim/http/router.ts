import type { HttpMethod, SimRoute } from './types';

export interface RouteMatch {
  readonly route: SimRoute;
  readonly params: Record<string, string>;
}

export interface Router {
  /** The route for this method and path; `methodNotAllowed` when only the path matched. */
  match(method: string, path: string): RouteMatch | 'methodNotAllowed' | undefined;
}

interface Compiled {
  readonly route: SimRoute;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// A parameter stops at `/` and at `:`, so `{id}:approve` splits Google's custom-method suffix.
const compile = (route: SimRoute): Compiled => {
  const names: string[] = [];
  const source = route.pattern
    .split(/(\{[A-Za-z]+\})/)
    .map((part) => {
      const name = /^\{([A-Za-z]+)\}$/.exec(part)?.[1];
      if (!name) return escape(part);
      names.push(name);
      return '([^/:]+)';
    })
    .join('');
  return { route, regex: new RegExp(`^${source}$`), names };
};

const decode = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/** A first-match router over `{name}` patterns; routes are tried in the order given. */
export const createRouter = (routes: readonly SimRoute[]): Router => {
  const compiled = routes.map(compile);
  return {
    match: (method, path) => {
      let pathMatched = false;
      for (const { route, regex, names } of compiled) {
        const found = regex.exec(path);
        if (!found) continue;
        if (route.method !== (method.toUpperCase() as HttpMethod)) {
          pathMatched = true;
          continue;
        }
        const params: Record<string, string> = {};
        names.forEach((name, index) => {
          params[name] = decode(found[index + 1] ?? '');
        });
        return { route, params };
      }
      return pathMatched ? 'methodNotAllowed' : undefined;
    },
  };
};
