import { invalidRequest } from './validation';

/**
 * Path templates on the raw path: `{name}` takes one segment, `{name+}` one or more, slashes
 * included. Vendor ids are AWS ARNs (`aws:arn:aws:license-manager::...:license/l-...`) whose `/`
 * arrives raw (API Gateway decodes `%2F` before the function sees it) or percent-encoded, so an
 * id is everything between a route's prefix and its suffix, decoded once matched.
 */
export interface PathTemplate {
  /** As the OpenAPI document writes it, `{name+}` shown as `{name}`. */
  readonly template: string;
  /** The raw (still encoded) parameters, or `null` when the path is not this template's. */
  match(path: string): Record<string, string> | null;
}

type Part =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'segment'; readonly name: string }
  | { readonly kind: 'rest'; readonly name: string };

const partOf = (segment: string): Part => {
  const param = /^\{([A-Za-z]+)(\+?)\}$/.exec(segment);
  if (param === null) return { kind: 'literal', text: segment };
  return param[2] === '+'
    ? { kind: 'rest', name: param[1]! }
    : { kind: 'segment', name: param[1]! };
};

/** Matches `segments` to `parts` one for one; fills `params`. */
const matchEach = (
  parts: readonly Part[],
  segments: readonly string[],
  params: Record<string, string>,
): boolean =>
  parts.length === segments.length &&
  parts.every((part, index) => {
    const segment = segments[index]!;
    if (part.kind === 'literal') return segment === part.text;
    if (segment === '') return false;
    params[part.name] = segment;
    return true;
  });

/** @throws Error for a template with more than one `{name+}`: it could match several ways. */
export const pathTemplate = (template: string): PathTemplate => {
  const parts = template.split('/').slice(1).map(partOf);
  const rest = parts.findIndex((part) => part.kind === 'rest');
  if (parts.filter((part) => part.kind === 'rest').length > 1) {
    throw new Error(`${template}: at most one {name+} per template`);
  }
  const head = rest < 0 ? parts : parts.slice(0, rest);
  const tail = rest < 0 ? [] : parts.slice(rest + 1);
  return {
    template: template.replace('+}', '}'),
    match: (path) => {
      if (!path.startsWith('/')) return null;
      const segments = path.split('/').slice(1);
      const params: Record<string, string> = {};
      if (rest < 0) return matchEach(parts, segments, params) ? params : null;
      if (segments.length < head.length + 1 + tail.length) return null;
      const middle = segments.slice(head.length, segments.length - tail.length).join('/');
      if (
        middle === '' ||
        !matchEach(head, segments.slice(0, head.length), params) ||
        !matchEach(tail, segments.slice(segments.length - tail.length), params)
      ) {
        return null;
      }
      params[(parts[rest] as { name: string }).name] = middle;
      return params;
    },
  };
};

/**
 * The parameters percent-decoded. A platform that already decoded the path leaves nothing to
 * decode in an id (marketplace ids hold no `%`), so decoding once is right on either.
 *
 * @throws VendorApiError 400 for a malformed percent-encoding.
 */
export const decodePathParams = (raw: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(raw).map(([name, value]) => {
      try {
        return [name, decodeURIComponent(value)];
      } catch {
        throw invalidRequest('the request path is invalid', [
          { path: `path.${name}`, message: 'is not validly percent-encoded' },
        ]);
      }
    }),
  );
