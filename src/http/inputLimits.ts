/**
 * Bounds on every input value, checked in one place before an operation executes, so no
 * service has to expect hostile text: every string (String and ID arguments, and every key and
 * string inside a JSON value) holds no NUL and no lone UTF-16 surrogate (Postgres refuses both,
 * and a refusal there looked like an outage), every string argument and list is bounded, and
 * every JSON value is bounded in depth and size. A value out of bounds answers BAD_USER_INPUT
 * with HTTP 400, `extensions.field` naming where it is (`input.features[3]`), and nothing runs.
 * Services still check what their domain needs (a nonce's 128 characters, a URL's form).
 *
 * Values come from the variables (checked per request, against the variables' types listed once
 * per document) and from literals in the document (checked once per document and remembered).
 */
import {
  getNullableType,
  getOperationAST,
  isInputObjectType,
  isListType,
  isScalarType,
  Kind,
  typeFromAST,
  TypeInfo,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';

/**
 * Above every domain's own limit (a license's metadata 16 KiB, an event payload 64 KiB and 32
 * deep), so a value a service refuses still gets that service's typed InvalidInput.
 */
export const INPUT_LIMITS = {
  /** Characters of one String or ID argument (a license key refused as 10 kB of junk still gets LicenseNotFound). */
  stringLength: 16_384,
  /** Items of one list argument (features, event types, scopes, address allowlists). */
  listLength: 256,
  /** A JSON argument (metadata, clientInfo, an event payload), as JSON text. */
  jsonBytes: 262_144,
  /** Nesting of a JSON argument. */
  jsonDepth: 64,
} as const;

interface Problem {
  field: string;
  message: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function textProblem(text: string, field: string): Problem | undefined {
  if (text.includes('\0')) return { field, message: `${field} must not contain a NUL character.` };
  if (LONE_SURROGATE.test(text)) return { field, message: `${field} must be valid Unicode text (it holds a lone surrogate).` };
  return undefined;
}

function jsonProblem(value: unknown, field: string): Problem | undefined {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 1 }];
  while (pending.length > 0) {
    const { value: item, depth } = pending.pop()!;
    if (typeof item === 'string') {
      const problem = textProblem(item, field);
      if (problem) return problem;
    } else if (item !== null && typeof item === 'object') {
      if (depth > INPUT_LIMITS.jsonDepth) return { field, message: `${field} is nested deeper than ${INPUT_LIMITS.jsonDepth} levels.` };
      for (const [key, child] of Object.entries(item)) {
        const problem = Array.isArray(item) ? undefined : textProblem(key, field);
        if (problem) return problem;
        pending.push({ value: child, depth: depth + 1 });
      }
    }
  }
  // Measured after the depth check, so JSON.stringify never recurses deeply.
  if (JSON.stringify(value).length > INPUT_LIMITS.jsonBytes) return { field, message: `${field} is larger than ${INPUT_LIMITS.jsonBytes} bytes of JSON.` };
  return undefined;
}

/** An input type's fields, listed once per type (the schema does not change). */
const inputFields = new WeakMap<GraphQLInputObjectType, [string, GraphQLInputType][]>();

function inputFieldsOf(type: GraphQLInputObjectType): [string, GraphQLInputType][] {
  let fields = inputFields.get(type);
  if (!fields) inputFields.set(type, (fields = Object.entries(type.getFields()).map(([name, field]) => [name, field.type])));
  return fields;
}

function valueProblem(value: unknown, type: GraphQLInputType, field: string): Problem | undefined {
  if (value === null || value === undefined) return undefined;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    // A single value where a list is expected is coerced to a list of one.
    if (!Array.isArray(value)) return valueProblem(value, nullable.ofType, field);
    if (value.length > INPUT_LIMITS.listLength) return { field, message: `${field} has more than ${INPUT_LIMITS.listLength} items.` };
    for (let i = 0; i < value.length; i++) {
      const problem = valueProblem(value[i], nullable.ofType, `${field}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isInputObjectType(nullable)) {
    if (typeof value !== 'object') return undefined; // coercion refuses it
    for (const [name, type] of inputFieldsOf(nullable)) {
      const fieldValue = (value as Record<string, unknown>)[name];
      if (fieldValue === null || fieldValue === undefined) continue;
      const problem = valueProblem(fieldValue, type, `${field}.${name}`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isScalarType(nullable) && nullable.name === 'JSON') return jsonProblem(value, field);
  if (typeof value !== 'string') return undefined;
  if (value.length > INPUT_LIMITS.stringLength) return { field, message: `${field} is longer than ${INPUT_LIMITS.stringLength} characters.` };
  return textProblem(value, field);
}

/** The first literal argument out of bounds in a document, found once per document. */
const literalProblems = new WeakMap<DocumentNode, Problem | null>();

function literalProblem(schema: GraphQLSchema, document: DocumentNode): Problem | null {
  const known = literalProblems.get(document);
  if (known !== undefined) return known;
  let found: Problem | null = null;
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        const type = typeInfo.getArgument()?.type;
        if (found || !type || node.value.kind === Kind.VARIABLE) return;
        found = valueProblem(valueFromASTUntyped(node.value), type, node.name.value) ?? null;
      },
    }),
  );
  literalProblems.set(document, found);
  return found;
}

/**
 * The variables of the operation that runs, with their types, listed once per operation. Kept
 * by the operation's node, not by the name the caller sent: a name that matches nothing (the
 * operation then does not run) must not make an entry per request.
 */
const variableTypes = new WeakMap<OperationDefinitionNode, [string, GraphQLInputType][]>();

function variablesOf(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): [string, GraphQLInputType][] {
  const operation = getOperationAST(document, operationName);
  if (!operation) return [];
  let variables = variableTypes.get(operation);
  if (variables) return variables;
  variables = [];
  for (const variable of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, variable.type) as GraphQLInputType | undefined;
    if (type) variables.push([variable.variable.name.value, type]);
  }
  variableTypes.set(operation, variables);
  return variables;
}

function variableProblem(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown>) {
  for (const [name, type] of variablesOf(schema, document, operationName)) {
    const problem = valueProblem(variables[name], type, name);
    if (problem) return problem;
  }
  return undefined;
}

const refusal = (problem: Problem) => ({
  errors: [createGraphQLError(problem.message, { extensions: { code: 'BAD_USER_INPUT', field: problem.field, http: { status: 400 } } })],
});

export function inputLimitsPlugin(): Plugin {
  const check = ({ args, setResultAndStopExecution }: { args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null }; setResultAndStopExecution: (result: ReturnType<typeof refusal>) => void }) => {
    const problem =
      literalProblem(args.schema, args.document) ??
      (args.variableValues ? variableProblem(args.schema, args.document, args.operationName, args.variableValues) : undefined);
    if (problem) setResultAndStopExecution(refusal(problem));
  };
  return { onExecute: check, onSubscribe: check };
}
