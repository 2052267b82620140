/**
 * The `filter` of `entitlements.list`: restrictions `field=value`, `field!=value` and
 * `field:value` (membership in a repeated field), combined with `AND`, `OR`, `NOT` and
 * parentheses; a space between two restrictions means AND. Precedence follows Google's filter
 * grammar (AIP-160), where OR binds tighter than AND: `a b OR c` is `a AND (b OR c)`.
 */

export type FilterComparator = '=' | '!=' | ':';

export type FilterNode =
  | { readonly kind: 'and'; readonly nodes: readonly FilterNode[] }
  | { readonly kind: 'or'; readonly nodes: readonly FilterNode[] }
  | { readonly kind: 'not'; readonly node: FilterNode }
  | {
      readonly kind: 'compare';
      readonly field: string;
      readonly comparator: FilterComparator;
      readonly value: string;
    };

/** The filter cannot be parsed, or names an attribute or comparison the API does not support. */
export class FilterSyntaxError extends Error {
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.name = new.target.name;
    this.position = position;
  }
}

type Token =
  | { readonly type: '(' | ')' | 'AND' | 'OR' | 'NOT' | 'end'; readonly at: number }
  | { readonly type: 'comparator'; readonly value: FilterComparator; readonly at: number }
  | { readonly type: 'word' | 'string'; readonly value: string; readonly at: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT']);
// Anything else is part of a bare word; the docs ask for quotes around special characters,
// but their own examples leave `-` and `/` bare, so only the grammar's own characters end a word.
const WORD_END = /[\s()"=!:]/;

const tokenize = (text: string): Token[] => {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      i += 1;
    } else if (char === '(' || char === ')') {
      tokens.push({ type: char, at: i });
      i += 1;
    } else if (char === '=' || char === ':') {
      tokens.push({ type: 'comparator', value: char, at: i });
      i += 1;
    } else if (char === '!') {
      if (text[i + 1] !== '=') throw new FilterSyntaxError(`unexpected "!" at ${i}`, i);
      tokens.push({ type: 'comparator', value: '!=', at: i });
      i += 2;
    } else if (char === '"') {
      const start = i;
      let value = '';
      i += 1;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i += 1;
        value += text[i];
        i += 1;
      }
      if (i >= text.length) throw new FilterSyntaxError(`unterminated string at ${start}`, start);
      tokens.push({ type: 'string', value, at: start });
      i += 1;
    } else {
      const start = i;
      while (i < text.length && !WORD_END.test(text[i]!)) i += 1;
      const word = text.slice(start, i);
      tokens.push(
        KEYWORDS.has(word)
          ? { type: word as 'AND' | 'OR' | 'NOT', at: start }
          : { type: 'word', value: word, at: start },
      );
    }
  }
  tokens.push({ type: 'end', at: text.length });
  return tokens;
};

const describe = (token: Token): string =>
  token.type === 'end'
    ? 'the end of the filter'
    : 'value' in token
      ? `"${token.value}" at ${token.at}`
      : `"${token.type}" at ${token.at}`;

const combine = (kind: 'and' | 'or', nodes: FilterNode[]): FilterNode =>
  nodes.length === 1 ? nodes[0]! : { kind, nodes };

/** Parses a filter; an empty or blank filter is `undefined` (everything matches). */
export const parseFilter = (text: string): FilterNode | undefined => {
  const tokens = tokenize(text);
  let index = 0;
  const peek = (): Token => tokens[index]!;
  const take = (): Token => tokens[index++]!;

  const restriction = (): FilterNode => {
    const field = take();
    if (field.type !== 'word') {
      throw new FilterSyntaxError(`expected an attribute, found ${describe(field)}`, field.at);
    }
    const comparator = take();
    if (comparator.type !== 'comparator') {
      throw new FilterSyntaxError(
        `expected "=", "!=" or ":" after "${field.value}", found ${describe(comparator)}`,
        comparator.at,
      );
    }
    const value = take();
    if (value.type !== 'word' && value.type !== 'string') {
      throw new FilterSyntaxError(
        `expected a value after "${field.value}${comparator.value}", found ${describe(value)}`,
        value.at,
      );
    }
    return {
      kind: 'compare',
      field: field.value,
      comparator: comparator.value,
      value: value.value,
    };
  };

  const simple = (): FilterNode => {
    if (peek().type !== '(') return restriction();
    take();
    const inner = expression();
    const close = take();
    if (close.type !== ')') {
      throw new FilterSyntaxError(`expected ")", found ${describe(close)}`, close.at);
    }
    return inner;
  };

  const term = (): FilterNode => {
    if (peek().type !== 'NOT') return simple();
    take();
    return { kind: 'not', node: term() };
  };

  const factor = (): FilterNode => {
    const nodes = [term()];
    while (peek().type === 'OR') {
      take();
      nodes.push(term());
    }
    return combine('or', nodes);
  };

  const startsFactor = (token: Token): boolean =>
    token.type === 'word' || token.type === '(' || token.type === 'NOT';

  const sequence = (): FilterNode => {
    const nodes = [factor()];
    while (startsFactor(peek())) nodes.push(factor());
    return combine('and', nodes);
  };

  function expression(): FilterNode {
    const nodes = [sequence()];
    while (peek().type === 'AND') {
      take();
      nodes.push(sequence());
    }
    return combine('and', nodes);
  }

  if (peek().type === 'end') return undefined;
  const tree = expression();
  const rest = peek();
  if (rest.type !== 'end') throw new FilterSyntaxError(`unexpected ${describe(rest)}`, rest.at);
  return tree;
};

/** What a filter can see of one entitlement. */
export interface FilterableEntitlement {
  readonly accountId: string;
  /** `providers/{p}/accounts/{id}`. */
  readonly accountName: string;
  /** `billingAccounts/{id}`. */
  readonly customerBillingAccount: string;
  readonly productExternalName: string;
  readonly quoteExternalName?: string;
  readonly offer?: string;
  readonly newPendingOffer?: string;
  readonly plan: string;
  readonly newPendingPlan?: string;
  readonly state: string;
  /** `projects/{number}` of each consumer. */
  readonly consumerProjects: readonly string[];
  /** Every offer the entitlement was ever on, the current one included. */
  readonly offerHistory: readonly string[];
}

type Scalar = (e: FilterableEntitlement) => readonly (string | undefined)[];

const lastSegment = (name: string | undefined): string | undefined => name?.split('/').pop();

// Each scalar attribute lists the spellings a value may match: the account by id or by name,
// an offer by name or by its trailing id.
const SCALARS: Readonly<Record<string, Scalar>> = {
  account: (e) => [e.accountId, e.accountName],
  customer_billing_account: (e) => [e.customerBillingAccount],
  product_external_name: (e) => [e.productExternalName],
  // The deprecated `product` field, still used in the API's own filter examples.
  product: (e) => [e.productExternalName],
  quote_external_name: (e) => [e.quoteExternalName],
  offer: (e) => [e.offer, lastSegment(e.offer)],
  new_pending_offer: (e) => [e.newPendingOffer, lastSegment(e.newPendingOffer)],
  plan: (e) => [e.plan],
  newPendingPlan: (e) => [e.newPendingPlan],
  new_pending_plan: (e) => [e.newPendingPlan],
  state: (e) => [e.state],
};

const REPEATED: Readonly<Record<string, (e: FilterableEntitlement) => readonly string[]>> = {
  'consumers.project': (e) => e.consumerProjects,
  'change_history.new_offer': (e) => [
    ...e.offerHistory,
    ...e.offerHistory.map((name) => lastSegment(name) ?? name),
  ],
};

export const FILTER_ATTRIBUTES: readonly string[] = [
  ...Object.keys(SCALARS),
  ...Object.keys(REPEATED),
];

// `state=active` and `state=ENTITLEMENT_ACTIVE` are the same query.
const normalizeState = (state: string): string => state.toUpperCase().replace(/^ENTITLEMENT_/, '');

const check = (node: FilterNode): void => {
  switch (node.kind) {
    case 'and':
    case 'or':
      node.nodes.forEach(check);
      return;
    case 'not':
      check(node.node);
      return;
    case 'compare':
      if (node.field in REPEATED) {
        if (node.comparator !== ':') {
          throw new FilterSyntaxError(
            `"${node.field}" is a repeated attribute: use "${node.field}:${node.value}" (membership); equality is not supported`,
            0,
          );
        }
      } else if (!(node.field in SCALARS)) {
        throw new FilterSyntaxError(
          `unsupported attribute "${node.field}"; supported: ${FILTER_ATTRIBUTES.join(', ')}`,
          0,
        );
      }
  }
};

const evaluate = (node: FilterNode, entitlement: FilterableEntitlement): boolean => {
  switch (node.kind) {
    case 'and':
      return node.nodes.every((child) => evaluate(child, entitlement));
    case 'or':
      return node.nodes.some((child) => evaluate(child, entitlement));
    case 'not':
      return !evaluate(node.node, entitlement);
    case 'compare': {
      const repeated = REPEATED[node.field];
      if (repeated) return repeated(entitlement).includes(node.value);
      const candidates = SCALARS[node.field]!(entitlement);
      const equal =
        node.field === 'state'
          ? candidates.some(
              (c) => c !== undefined && normalizeState(c) === normalizeState(node.value),
            )
          : candidates.includes(node.value);
      // `:` on a single value is the same as equality.
      return node.comparator === '!=' ? !equal : equal;
    }
  }
};

/**
 * Parses and checks a filter once, for use on every entitlement of a list call.
 * @throws FilterSyntaxError, which the API answers with 400 INVALID_ARGUMENT.
 */
export const compileEntitlementFilter = (
  text: string,
): ((entitlement: FilterableEntitlement) => boolean) => {
  const tree = parseFilter(text);
  if (!tree) return () => true;
  check(tree);
  return (entitlement) => evaluate(tree, entitlement);
};
