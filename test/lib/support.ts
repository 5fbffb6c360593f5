/**
 * Construct-test support: bundled assets (built on demand), a stack in a fixed environment, and
 * readers for template details (IAM statements, JSON built with Fn::Join).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { testApp } from '../support/cdk-app';

export const ACCOUNT = '123456789012';
export const OTHER_ACCOUNT = '210987654321';
export const REGION = 'eu-west-1';

const ROOT = join(__dirname, '..', '..');

/** Builds assets/ (service image context, Lambda bundles) when a fresh checkout has none yet. */
export function ensureAssets(): void {
  const needed = [join(ROOT, 'assets', 'service', 'Dockerfile'), join(ROOT, 'assets', 'lambda', 'registration', 'index.js'), join(ROOT, 'assets', 'cli', 'sources.json')];
  if (needed.every((path) => existsSync(path))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, 'scripts', 'bundle.ts')], { cwd: ROOT, stdio: 'inherit' });
}

/** A stack in account 123456789012, eu-west-1. */
export function testStack(id = 'Stack', app = testApp()): Stack {
  return new Stack(app, id, { env: { account: ACCOUNT, region: REGION } });
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
}

/** Every statement of the identity policies attached to the role with logical id `roleId` (or of every policy). */
export function policyStatements(template: Template, roleId?: string): Statement[] {
  const statements: Statement[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles ?? []) as Array<{ Ref?: string }>;
    if (roleId && !roles.some((r) => r.Ref === roleId)) continue;
    statements.push(...(policy.Properties.PolicyDocument.Statement as Statement[]));
  }
  return statements;
}

/** Actions of a statement as a list. */
export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Resources of a statement as a list. */
export function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** The logical id of the only resource of `type` whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} with id ${prefix}…, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

/**
 * Reads a JSON document that CloudFormation assembles with Fn::Join: each embedded intrinsic
 * becomes the string `<Ref:Id>` / `<GetAtt:Id.Attr>` so the result parses.
 */
export function joinedJson(value: unknown): any {
  return JSON.parse(flatten(value));
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, any>;
    if (v['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map((part) => flatten(part)).join(v['Fn::Join'][0]);
    if (v.Ref) return `<Ref:${v.Ref}>`;
    if (v['Fn::GetAtt']) return `<GetAtt:${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  }
  return '<intrinsic>';
}
