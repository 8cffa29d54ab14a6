/*
 * Production guards as GraphQL validation rules, so they run once per
 * distinct document (grafserv caches validation) before any SQL is planned:
 * a depth limit, a row-cost estimate and a count of searches. Introspection
 * is refused with graphql-js's own NoSchemaIntrospectionCustomRule.
 */
import {
  GraphQLError,
  Kind,
  getEnterLeaveForKind,
  getNamedType,
  getNullableType,
  isListType,
  isInterfaceType,
  isObjectType,
  type ASTVisitor,
  type ASTNode,
  type FieldNode,
  type OperationDefinitionNode,
  type GraphQLNamedType,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Rows assumed for a list or connection whose size the document does not fix. */
export const DEFAULT_PAGE = 100;

function pageSize(field: FieldNode): number | null {
  for (const arg of field.arguments ?? []) {
    if (arg.name.value === 'first' || arg.name.value === 'last') {
      // Variables are unknown at validation time: assume the default page.
      return arg.value.kind === Kind.INT ? Math.max(1, Number.parseInt(arg.value.value, 10)) : DEFAULT_PAGE;
    }
  }
  return null;
}

/** Root fields that each cost a query embedding and a full search, whatever rows they return. */
const EXPENSIVE_ROOT_FIELDS = new Set(['searchScenes']);

/** Validation contexts whose document broke a limit: the other rules skip them. */
const overLimit = new WeakSet<ValidationContext>();

/**
 * Rejects operations nested deeper than maxDepth, whose estimated row
 * count exceeds maxCost, or that ask for more than maxSearches searches
 * (aliases count: 2,000 aliased searchScenes are 2,000 searches). Each list or connection multiplies the cost of what
 * is selected inside it by its page size (first/last, else DEFAULT_PAGE); the
 * edges/nodes lists inside a connection are the same rows, so they don't
 * multiply again.
 *
 * It judges every operation on entering the document, before any other rule
 * has seen a node, so that a document over a limit costs one linear walk:
 * the standard rules, wrapped by skipWhenOverLimit, never visit it.
 */
export function queryLimitsRule(maxDepth: number, maxCost: number, maxSearches = Infinity): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => ({
    Document(doc) {
      const errors: GraphQLError[] = [];
      for (const op of doc.definitions) {
        if (op.kind === Kind.OPERATION_DEFINITION) errors.push(...judge(ctx, op, maxDepth, maxCost, maxSearches));
      }
      for (const e of errors) ctx.reportError(e);
      if (errors.length) overLimit.add(ctx);
      // judge() has walked everything this rule needs.
      return false;
    },
  });
}

function judge(
  ctx: ValidationContext,
  op: OperationDefinitionNode,
  maxDepth: number,
  maxCost: number,
  maxSearches: number,
): GraphQLError[] {
  const schema = ctx.getSchema();
  const root =
    op.operation === 'query'
      ? schema.getQueryType()
      : op.operation === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  let deepest = 0;
  let cost = 0;
  let searches = 0;
  const walk = (
    set: SelectionSetNode,
    parent: GraphQLNamedType | null | undefined,
    depth: number,
    mult: number,
    seen: Set<string>,
  ) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : parent;
        walk(sel.selectionSet, t, depth, mult, seen);
      } else if (sel.kind === Kind.FRAGMENT_SPREAD) {
        const frag = ctx.getFragment(sel.name.value);
        // Cycles are reported by the standard rules; just don't loop here.
        if (!frag || seen.has(frag.name.value)) continue;
        walk(
          frag.selectionSet,
          schema.getType(frag.typeCondition.name.value),
          depth,
          mult,
          new Set([...seen, frag.name.value]),
        );
      } else {
        if (sel.name.value.startsWith('__')) continue;
        if (depth === 0 && EXPENSIVE_ROOT_FIELDS.has(sel.name.value)) searches++;
        deepest = Math.max(deepest, depth + 1);
        const def =
          parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[sel.name.value] : undefined;
        const type = def ? getNullableType(def.type) : undefined;
        const named = def ? getNamedType(def.type) : undefined;
        const insideConnection = !!parent?.name.endsWith('Connection');
        let factor = 0;
        if (named?.name.endsWith('Connection')) factor = pageSize(sel) ?? DEFAULT_PAGE;
        else if (type && isListType(type) && !insideConnection) factor = pageSize(sel) ?? DEFAULT_PAGE;
        // Only lists and connections fetch rows; scalars and single
        // relations ride along with the row they belong to.
        const next = factor ? mult * factor : mult;
        if (factor) cost += next;
        if (sel.selectionSet) walk(sel.selectionSet, named, depth + 1, next, seen);
      }
    }
  };
  walk(op.selectionSet, root, 0, 1, new Set());
  const errors: GraphQLError[] = [];
  if (deepest > maxDepth) {
    errors.push(new GraphQLError(`Query is nested ${deepest} levels deep; the limit is ${maxDepth}`, { nodes: [op] }));
  }
  if (searches > maxSearches) {
    errors.push(
      new GraphQLError(
        `Query asks for ${searches} searches (searchScenes, aliases included); the limit is ${maxSearches} per request`,
        { nodes: [op] },
      ),
    );
  }
  if (cost > maxCost) {
    errors.push(
      new GraphQLError(`Query could return about ${cost} rows; the limit is ${maxCost}. Ask for smaller pages.`, {
        nodes: [op],
      }),
    );
  }
  return errors;
}

/**
 * Wraps a standard rule so that it does not visit a document that
 * queryLimitsRule (listed before it) refused: graphql-js runs every rule
 * over every node, and a few of them grow faster than linearly with the
 * number of fields, so a hostile document would otherwise cost its full
 * validation to be told it is too big.
 */
export function skipWhenOverLimit(rule: ValidationRule): ValidationRule {
  const wrapped = (ctx: ValidationContext): ASTVisitor => {
    const inner = rule(ctx);
    return {
      enter(node: ASTNode, ...rest) {
        if (overLimit.has(ctx)) return false;
        return getEnterLeaveForKind(inner, node.kind).enter?.call(inner, node, ...rest);
      },
      leave(node: ASTNode, ...rest) {
        if (overLimit.has(ctx)) return undefined;
        return getEnterLeaveForKind(inner, node.kind).leave?.call(inner, node, ...rest);
      },
    };
  };
  Object.defineProperty(wrapped, 'name', { value: rule.name });
  return wrapped;
}
