/** The parts of a CloudFormation custom-resource request (as the provider framework forwards it) the handlers use. */
export interface ResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly ResourceType: string;
  readonly StackId: string;
  readonly LogicalResourceId: string;
  readonly RequestId: string;
  /** Absent on Create. */
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: Record<string, unknown>;
  /** Update only. */
  readonly OldResourceProperties?: Record<string, unknown>;
}

/** Result of onEvent: the physical id (a different one on Update means replacement) and attributes. */
export interface ResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Result of isComplete. `Data` only when complete. */
export interface CompletionResponse {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, string>;
}

/** Owner of the items a request writes: its stack and logical id. */
export function ownerOf(event: ResourceEvent): { readonly StackId: string; readonly LogicalResourceId: string } {
  return { StackId: event.StackId, LogicalResourceId: event.LogicalResourceId };
}

/**
 * Physical id the provider framework reports for a Create that failed in onEvent; CloudFormation's
 * rollback then sends a Delete with it (the framework answers that Delete itself, without calling
 * the handler; the handler treats it the same way should it ever arrive).
 */
export const CREATE_FAILED_PHYSICAL_ID = 'AWSCDK::CustomResourceProviderFramework::CREATE_FAILED';

/** True for the Delete of a resource whose Create failed before it returned a physical id. */
export function isFailedCreate(event: ResourceEvent): boolean {
  return event.PhysicalResourceId === undefined || event.PhysicalResourceId === '' || event.PhysicalResourceId === CREATE_FAILED_PHYSICAL_ID;
}
