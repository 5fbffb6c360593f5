/**
 * Synth-time validation shared by the constructs. Every check skips unresolved tokens (their value
 * is known only at deploy time) and throws an error naming the construct, the property, the bad
 * value and what is allowed.
 */
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import type { ArnPattern } from './arn';
import { BINARY_EXPRESSION_ALLOWED, binaryExpressionProblem } from './binary-expression';
import { ACCOUNT, matches, NAME, NumericRange, REGION, TextPattern } from './limits';
import { cidrProblem } from './network';

/** Throws a validation error for `scope` naming the property and the allowed values. */
export function fail(scope: IConstruct, message: string): never {
  throw new Error(`${scope.node.path}: ${message}`);
}

/** `value` must be an integer in [min, max]; tokens are skipped. */
export function validateInteger(scope: IConstruct, prop: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(scope, `${prop} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/** `value` must be a number in [min, max]; tokens are skipped. */
export function validateRange(scope: IConstruct, prop: string, value: number | undefined, min: number, max: number, unit = ''): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    fail(scope, `${prop} must be from ${min}${unit} to ${max}${unit}, got ${value}${unit}`);
  }
}

/** `value` must be an integer in `range` (limits.ts); tokens are skipped. */
export function validateIntegerRange(scope: IConstruct, prop: string, value: number | undefined, range: NumericRange): void {
  validateInteger(scope, prop, value, range.min, range.max);
}

/** `value` must be a metric dimension value the fleet emits (a failure code or relay failure reason: letters only). */
export function validateDimensionValue(scope: IConstruct, prop: string, value: string): void {
  if (!/^[A-Za-z]{1,64}$/.test(value)) fail(scope, `${prop} must be 1 to 64 letters (a failure code or reason the fleet emits), got '${value}'`);
}

/** `value` must be a name ({@link NAME}); tokens are skipped. */
export function validateName(scope: IConstruct, prop: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (!NAME.pattern.test(value)) {
    fail(scope, `${prop} must be ${NAME.allowed}, got ${JSON.stringify(value)}`);
  }
}

/** A 12-digit AWS account id; tokens are skipped. */
export function validateAccount(scope: IConstruct, prop: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (!ACCOUNT.pattern.test(value)) fail(scope, `${prop} must hold 12-digit AWS account ids, got ${JSON.stringify(value)}`);
}

/** A region name such as `eu-west-1`; tokens are skipped. */
export function validateRegion(scope: IConstruct, prop: string, value: string): void {
  if (Token.isUnresolved(value)) return;
  if (!REGION.pattern.test(value)) fail(scope, `${prop} must be an AWS region name such as "eu-west-1", got ${JSON.stringify(value)}`);
}

/**
 * An ARN of the kind `arn` describes (arn.ts: partition, region, account and resource shape), as
 * the registration function requires; tokens are skipped.
 */
export function validateArn(scope: IConstruct, prop: string, value: string, arn: ArnPattern): void {
  if (Token.isUnresolved(value)) return;
  if (!matches(value, arn)) {
    const prefix = arn.resourcePrefix ? ` (${arn.resourcePrefix}…)` : '';
    fail(scope, `${prop} must be an ARN of ${arn.service}${prefix}, got ${JSON.stringify(value)} (allowed: ${arn.allowed})`);
  }
}

/** Every entry must be a CIDR block; tokens are skipped. */
export function validateCidrs(scope: IConstruct, prop: string, values: readonly string[] | undefined): void {
  if (values === undefined || Token.isUnresolved(values)) return;
  if (values.length === 0) fail(scope, `${prop} must not be empty; leave it undefined instead`);
  for (const value of values) {
    if (Token.isUnresolved(value)) continue;
    const problem = cidrProblem(value);
    if (problem !== undefined) fail(scope, `${prop} must hold CIDR blocks such as "203.0.113.0/24" or "2001:db8::/32", got ${JSON.stringify(value)}: ${problem}`);
  }
}

/** `value` must match a shared pattern (limits.ts, arn.ts), as the record validator requires; tokens are skipped. */
export function validatePattern(scope: IConstruct, prop: string, value: string, text: TextPattern): void {
  if (Token.isUnresolved(value)) return;
  if (!matches(value, text)) fail(scope, `${prop} must be ${text.allowed}, got ${JSON.stringify(value)}`);
}

/** `value` must be a binary range expression (binary-expression.ts); the message names the column. Tokens are skipped. */
export function validateBinaryExpression(scope: IConstruct, prop: string, value: string | undefined): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  const problem = binaryExpressionProblem(value);
  if (problem !== undefined) fail(scope, `${prop} must be ${BINARY_EXPRESSION_ALLOWED}: ${problem}`);
}
