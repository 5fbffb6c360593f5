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
