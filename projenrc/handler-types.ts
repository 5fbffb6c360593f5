/**
 * The package subpath of the handler-facing types (lib/handler.ts): `cdk-packet-gateway/handler`.
 * lib/index.ts is the jsii API and cannot export them (PascalCase fields, string-literal unions),
 * so TypeScript reaches them through `typesVersions`. The module holds types only: nothing is
 * needed at run time, so no `exports` map (which would also close every other deep import).
 */
export const HANDLER_TYPES_VERSIONS: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  '*': {
    handler: ['dist/lib/handler.d.ts'],
  },
};
