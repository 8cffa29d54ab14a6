/*
 * Production guards as GraphQL validation rules, so they run once per
 * distinct document (grafserv caches validation) before any SQL is planned:
 * a depth limit and a row-cost estimate. Introspection is refused with
 * graphql-js's own NoSchemaIntrospectionCustomRule.
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isListType,
  isInterfaceType,
  isObjectType,
  type ASTVisitor,
  type FieldNode,
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

/**
 * Rejects operations nested deeper than maxDepth, whose estimated row
 * count exceeds maxCost, or that ask for more than maxSearches searches
 * (aliases count: 2,000 aliased searchScenes are 2,000 searches). Each list or connection multiplies the cost of what
 * is selected inside it by its page size (first/last, else DEFAULT_PAGE); the
 * edges/nodes lists inside a connection are the same rows, so they don't
 * multiply again.
 */
export function queryLimitsRule(maxDepth: number, maxCost: number, maxSearches = Infinity): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
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
              parent && (isObjectType(parent) || isInterfaceType(parent))
                ? parent.getFields()[sel.name.value]
                : undefined;
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
      if (deepest > maxDepth) {
        ctx.reportError(
          new GraphQLError(`Query is nested ${deepest} levels deep; the limit is ${maxDepth}`, { nodes: [op] }),
        );
      }
      if (searches > maxSearches) {
        ctx.reportError(
          new GraphQLError(
            `Query asks for ${searches} searches (searchScenes, aliases included); the limit is ${maxSearches} per request`,
            { nodes: [op] },
          ),
        );
      }
      if (cost > maxCost) {
        ctx.reportError(
          new GraphQLError(`Query could return about ${cost} rows; the limit is ${maxCost}. Ask for smaller pages.`, {
            nodes: [op],
          }),
        );
      }
    },
  });
}
