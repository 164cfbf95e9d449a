// Checks a tool call's input against the tool's JSON Schema (the small subset in `JsonSchema`),
// producing one message that names the offending field, so the model can correct itself.
import type { JsonSchema } from './builtin-tool.ts';

/**
 * Returns undefined when `input` is valid, otherwise a message naming the field.
 * Choices: unknown fields are rejected (silently ignoring e.g. `offset` on `read` would mislead the
 * model); `null` for an optional field counts as absent.
 */
export function validateInput(toolName: string, schema: JsonSchema, input: unknown): string | undefined {
  const prefix = `Invalid input for ${toolName}:`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return `${prefix} input must be a JSON object (got ${describe(input)})`;
  }
  const obj = input as Record<string, unknown>;
  const props = schema.properties ?? {};
  for (const field of schema.required ?? []) {
    if (obj[field] === undefined || obj[field] === null) return `${prefix} missing required field '${field}'`;
  }
  for (const [field, value] of Object.entries(obj)) {
    const prop = props[field];
    if (!prop) {
      if (schema.additionalProperties === false) {
        const allowed = Object.keys(props).join(', ');
        return `${prefix} unknown field '${field}' (${toolName} accepts: ${allowed})`;
      }
      continue;
    }
    if (value === null || value === undefined) continue;
    const problem = checkValue(prop, value);
    if (problem) return `${prefix} '${field}' ${problem}`;
  }
  return undefined;
}

function checkValue(schema: JsonSchema, value: unknown): string | undefined {
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return `must be a string (got ${describe(value)})`;
      return undefined;
    case 'boolean':
      if (typeof value !== 'boolean') return `must be a boolean (got ${describe(value)})`;
      return undefined;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number (got ${describe(value)})`;
      if (schema.type === 'integer' && !Number.isInteger(value)) return `must be an integer (got ${value})`;
      if (schema.minimum !== undefined && value < schema.minimum) return `must be at least ${schema.minimum} (got ${value})`;
      if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum} (got ${value})`;
      return undefined;
    case 'array': {
      if (!Array.isArray(value)) return `must be an array (got ${describe(value)})`;
      if (schema.minItems !== undefined && schema.minItems === schema.maxItems && value.length !== schema.minItems) {
        return `must have exactly ${schema.minItems} items (got ${value.length})`;
      }
      if (schema.minItems !== undefined && value.length < schema.minItems) return `must have at least ${schema.minItems} items (got ${value.length})`;
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return `must have at most ${schema.maxItems} items (got ${value.length})`;
      if (schema.items) {
        for (let i = 0; i < value.length; i++) {
          const problem = checkValue(schema.items, value[i]);
          if (problem) return `item ${i} ${problem}`;
        }
      }
      return undefined;
    }
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return `must be an object (got ${describe(value)})`;
      return undefined;
    default:
      return undefined;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isInteger(value)) return 'integer';
  return typeof value;
}
