/**
 * An error whose message tells the stack's author what to fix. The registration handler lets it
 * reach CloudFormation as the resource's failure reason.
 */
export class RegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistrationError';
  }
}

/** The AWS error name of `err` (`ConditionalCheckFailedException`, `AccessDenied`, …), if any. */
export function awsErrorName(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { name?: unknown; Code?: unknown; code?: unknown };
  for (const candidate of [e.name, e.Code, e.code]) {
    if (typeof candidate === 'string') return candidate;
  }
  return undefined;
}

/** The message of any thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
