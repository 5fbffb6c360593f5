/**
 * What `Destination.stepFunctions` binds: the grants the fleet needs on one state machine and the
 * target of its destination record. The workflow type decides the action: EXPRESS state machines
 * run with `states:StartSyncExecution`, STANDARD ones start with `states:StartExecution`; when
 * the type is not known at synth (an imported state machine without a declared type) the data
 * plane asks `states:DescribeStateMachine` once, so that and both start actions are granted.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { StateMachineTypeName, StepFunctionsArgumentsRecord } from './records';

/** The record target of a Step Functions destination (lib/destination.ts `DestinationConfig` fields). */
export interface StepFunctionsTarget {
  readonly type: 'stepfunctions';
  readonly arn: string;
  /** The workflow type, when known at synth. */
  readonly arguments?: StepFunctionsArgumentsRecord;
}

/**
 * The workflow type of `stateMachine`: `declared`, else the type of a `StateMachine` defined in
 * this app; undefined for an imported one (detected at run time).
 */
export function stateMachineTypeOf(stateMachine: sfn.IStateMachine, declared?: sfn.StateMachineType): StateMachineTypeName | undefined {
  const type = declared ?? (stateMachine instanceof sfn.StateMachine ? stateMachine.stateMachineType : undefined);
  return type === undefined ? undefined : type as string as StateMachineTypeName;
}

/** The actions delivery needs on a state machine of `type` (undefined: detected at run time). */
export function stepFunctionsActions(type: StateMachineTypeName | undefined): string[] {
  if (type === 'EXPRESS') return ['states:StartSyncExecution'];
  if (type === 'STANDARD') return ['states:StartExecution'];
  return ['states:DescribeStateMachine', 'states:StartSyncExecution', 'states:StartExecution'];
}

/** Grants `grantee` what delivery to `stateMachine` needs, on that state machine only, and returns the record target. */
export function bindStepFunctions(
  stateMachine: sfn.IStateMachine,
  declared: sfn.StateMachineType | undefined,
  grantee: iam.IGrantable,
): StepFunctionsTarget {
  const stateMachineType = stateMachineTypeOf(stateMachine, declared);
  iam.Grant.addToPrincipal({ grantee, actions: stepFunctionsActions(stateMachineType), resourceArns: [stateMachine.stateMachineArn] });
  return { type: 'stepfunctions', arn: stateMachine.stateMachineArn, ...(stateMachineType !== undefined ? { arguments: { StateMachineType: stateMachineType } } : {}) };
}
