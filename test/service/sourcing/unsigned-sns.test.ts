import { ServiceEnvironment } from '../../../lib/private/service-environment';
import { optionsFromCommandLine } from '../../../service/main';
import { ServiceOptions, startService } from '../../../service/runtime';
import { isAwsEndpointHost, unsignedSnsRefusal } from '../../../service/sourcing/unsigned-sns';
import { LocalDynamo } from '../../support/local-dynamo';
import { capturingLogger } from '../helpers';

const AWS_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/delivery';

test.each([
  ['sqs.eu-west-1.amazonaws.com', true],
  ['sqs-fips.us-east-1.amazonaws.com', true],
  ['sqs.cn-north-1.amazonaws.com.cn', true],
  ['sqs.eu-west-1.api.aws', true],
  ['sqs.eusc-de-east-1.amazonaws.eu', true],
  ['AMAZONAWS.COM.', true],
  ['localhost', false],
  ['127.0.0.1', false],
  ['fauxqs', false],
  ['amazonaws.com.example', false],
  ['notamazonaws.com', false],
])('%s is an AWS endpoint host: %s', (host, aws) => {
  expect(isAwsEndpointHost(host)).toBe(aws);
});

test('the refusal names the setting and the host', () => {
  expect(unsignedSnsRefusal(AWS_QUEUE_URL)).toBe(
    `${ServiceEnvironment.AcceptUnsignedSns} is set, but the delivery queue is on the AWS endpoint sqs.eu-west-1.amazonaws.com: ` +
    'notifications from AWS are always signed and must be verified (allowed only with a local SNS/SQS server, e.g. fauxqs)',
  );
  expect(unsignedSnsRefusal('http://localhost:4566/000000000000/delivery')).toBeUndefined();
});

test.each([['1', true], ['true', true], ['TRUE', true], ['0', false], ['', false], [undefined, false]])(
  `${ServiceEnvironment.AcceptUnsignedSns}=%s turns acceptUnsignedSns %s`,
  (value, on) => {
    const options = optionsFromCommandLine([], {
      AWS_REGION: 'eu-west-1',
      [ServiceEnvironment.Table]: 'cfg',
      [ServiceEnvironment.DeliveryQueueUrl]: 'http://127.0.0.1:3000/000000000000/delivery',
      ...(value === undefined ? {} : { [ServiceEnvironment.AcceptUnsignedSns]: value }),
    }) as ServiceOptions;
    expect(options.acceptUnsignedSns ?? false).toBe(on);
  },
);

test('the data plane does not start when unsigned notifications are accepted from a queue on AWS', async () => {
  const dynamo = await LocalDynamo.start();
  try {
    const { logger } = capturingLogger();
    await expect(startService({
      mode: 'aws',
      region: 'eu-west-1',
      host: '127.0.0.1',
      healthPort: 0,
      tableName: await dynamo.createTable(),
      dynamoDbClient: dynamo.raw,
      deliveryQueueUrl: AWS_QUEUE_URL,
      acceptUnsignedSns: true,
      logger,
      metricsIntervalSeconds: 0,
    })).rejects.toThrow(`${ServiceEnvironment.AcceptUnsignedSns} is set, but the delivery queue is on the AWS endpoint sqs.eu-west-1.amazonaws.com`);
  } finally {
    await dynamo.stop();
  }
});
