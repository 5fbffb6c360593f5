import {
  EXECUTE_API_ARN, executeApiTargetOfArn, executeApiUrl, STATE_MACHINE_ARN, unqualifiedStateMachineArn,
} from '../../../lib/private/arn';

describe('state machine ARNs', () => {
  test.each([
    ['arn:aws:states:us-west-2:123456789012:stateMachine:packet-counter', true],
    ['arn:aws:states:us-west-2:123456789012:stateMachine:packet-counter:7', true],
    ['arn:aws-cn:states:cn-north-1:123456789012:stateMachine:pc:live', true],
    ['arn:aws:states:us-west-2:123456789012:execution:packet-counter:e1', false],
    ['arn:aws:states:us-west-2:123456789012:stateMachine:a:b:c', false],
    ['arn:aws:lambda:us-west-2:123456789012:function:f', false],
  ])('%s: %s', (value, expected) => {
    expect(STATE_MACHINE_ARN.pattern.test(value)).toBe(expected);
  });

  test('the unqualified ARN drops a version or alias', () => {
    expect(unqualifiedStateMachineArn('arn:aws:states:us-west-2:123456789012:stateMachine:pc:live')).toBe('arn:aws:states:us-west-2:123456789012:stateMachine:pc');
    expect(unqualifiedStateMachineArn('arn:aws:states:us-west-2:123456789012:stateMachine:pc')).toBe('arn:aws:states:us-west-2:123456789012:stateMachine:pc');
    expect(unqualifiedStateMachineArn('arn:aws:states:us-west-2:123456789012:activity:pc')).toBeUndefined();
  });
});

describe('execute-api ARNs', () => {
  test.each([
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/POST/measurements', true],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/$default/PUT/devices/d-1', true],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/*/ingest', true],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/POST/', true],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/GET/ingest', false],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/POST/*', false],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/*/POST/ingest', false],
    ['arn:aws:execute-api:us-west-2:123456789012:A1B2C3D4E5/prod/POST/ingest', false],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/POST/a b', false],
    ['arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/POST/a?b=1', false],
  ])('%s: %s', (value, expected) => {
    expect(EXECUTE_API_ARN.pattern.test(value)).toBe(expected);
  });

  test('a target names region, API, stage, method and path; * is sent as POST', () => {
    expect(executeApiTargetOfArn('arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/POST/measurements/v1')).toEqual({
      partition: 'aws', region: 'us-west-2', account: '123456789012', apiId: 'a1b2c3d4e5', stage: 'adafruit', method: 'POST', path: '/measurements/v1',
    });
    expect(executeApiTargetOfArn('arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/*/')).toMatchObject({ method: 'POST', path: '/' });
    expect(executeApiTargetOfArn('arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/prod/GET/x')).toBeUndefined();
  });

  test('the URL is on the API\'s execute-api host, without a stage segment for $default, or on a configured endpoint', () => {
    const rest = executeApiTargetOfArn('arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/adafruit/POST/measurements')!;
    const http = executeApiTargetOfArn('arn:aws:execute-api:us-west-2:123456789012:a1b2c3d4e5/$default/POST/measurements')!;
    const china = executeApiTargetOfArn('arn:aws-cn:execute-api:cn-north-1:123456789012:a1b2c3d4e5/prod/POST/')!;
    expect(executeApiUrl(rest)).toBe('https://a1b2c3d4e5.execute-api.us-west-2.amazonaws.com/adafruit/measurements');
    expect(executeApiUrl(http)).toBe('https://a1b2c3d4e5.execute-api.us-west-2.amazonaws.com/measurements');
    expect(executeApiUrl(china)).toBe('https://a1b2c3d4e5.execute-api.cn-north-1.amazonaws.com.cn/prod/');
    expect(executeApiUrl(rest, 'http://127.0.0.1:4566/ignored')).toBe('http://127.0.0.1:4566/adafruit/measurements');
  });
});
