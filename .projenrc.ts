import { awscdk, javascript, JsonFile } from 'projen';
import { HANDLER_TYPES_VERSIONS } from './projenrc/handler-types';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-packet-gateway',
  description:
    'Self-hosted UDP gateway for AWS: UDP and WireGuard in to Lambda, SQS and more; replies and SNS-sourced packets out from the Listener address.',
  author: 'Packet Gateway',
  authorAddress: 'maintainers@packet-gateway.dev',
  repositoryUrl: 'https://github.com/packet-gateway/cdk-packet-gateway.git',
  keywords: ['aws-cdk', 'udp', 'wireguard', 'iot', 'gateway', 'sns', 'fargate'],
  cdkVersion: '2.189.1',
  constructsVersion: '10.5.1',
  defaultReleaseBranch: 'main',
  jsiiVersion: '~5.9.0',
  typescriptVersion: '~5.9.0',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.0.0',

  // Constructs live in lib/ (jsii source dir); compiled output goes to dist/lib.
  srcdir: 'lib',
  libdir: 'dist/lib',
  testdir: 'test',

  // No GitHub workflows or release automation: CI is .ci/run.
  github: false,
  release: false,
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  sampleCode: false,
  docgen: true,

  // Runtime code in lambda/ and service/ is bundled into assets/ at build time, so everything
  // it imports is a build-time dependency of the library, not a runtime one.
  devDeps: [
    'esbuild@^0.25.0',
    'tsx@^4.19.0',
    '@aws-sdk/client-sqs@^3.700.0',
    '@aws-sdk/client-lambda@^3.700.0',
    // the direct Invoke path resolves its endpoint and signs with the SDK's own parts (service/destinations/lambda-invoker.ts)
    '@smithy/signature-v4@^5.7.5',
    '@smithy/core@^3.41.0',
    '@aws-sdk/client-sns@^3.700.0',
    '@aws-sdk/client-sts@^3.700.0',
    '@aws-sdk/client-dynamodb@^3.700.0',
    '@aws-sdk/lib-dynamodb@^3.700.0',
    '@aws-sdk/client-secrets-manager@^3.700.0',
    '@aws-sdk/client-cloudwatch-logs@^3.700.0',
    '@aws-lambda-powertools/logger@^2.12.0',
    '@aws-lambda-powertools/metrics@^2.12.0',
    '@noble/hashes@^1.8.0',
    '@types/aws-lambda@^8.10.0',
    'aws-sdk-client-mock@^4.1.0',
    'dynalite@^4.0.0',
    // SNS + SQS API for the fleet lab (scripts/fleet/); 2.x needs Node >= 22.5
    'fauxqs@1.9.2',
    'cdk-nag@^2.35.0',
    // request/response and write-only destinations (service/destinations/)
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-kinesis',
    '@aws-sdk/client-firehose',
    '@aws-sdk/client-eventbridge',
    '@aws-sdk/client-s3',
    // Kinesis API for the destination tests
    'kinesalite',
    // property-based tests of the binary range expressions
    'fast-check',
    // native ChaCha20-Poly1305 for WireGuard transport data; not bundled (the image installs it)
    'sodium-native',
    '@types/sodium-native',
    // `npx cdk synth` of the examples uses the local CLI.
    'aws-cdk@^2.1000.0',
  ],

  jestOptions: {
    jestConfig: {
      testTimeout: 60_000,
      collectCoverage: false,
      testPathIgnorePatterns: ['/node_modules/', '/dist/', '/assets/', '/cdk.out/'],
    },
  },

  tsconfigDev: {
    include: ['../service/**/*.ts', '../lambda/**/*.ts', '../bench/**/*.ts', '../examples/**/*.ts', '../scripts/**/*.ts'],
    compilerOptions: {},
  },
  eslintOptions: {
    dirs: ['lib'],
    devdirs: ['test', 'service', 'lambda', 'bench', 'examples', 'scripts', 'projenrc', '.projenrc.ts'],
  },

  // '/node_modules' (no slash) also matches a node_modules symlink, which '/node_modules/' does not.
  gitignore: ['/assets/', '/cdk.out/', '/bench/out/', '/.local/', '/node_modules'],
});

for (const pattern of ['/service/', '/lambda/', '/bench/', '/examples/', '/scripts/', '/docs/', '/.ci/', '/cdk.json']) {
  project.addPackageIgnore(pattern);
}

// esbuild bundles of the runtime code: the data-plane service and the Lambda handlers.
const bundle = project.addTask('bundle', {
  description: 'Bundle the data-plane service and Lambda handlers into assets/',
  exec: 'tsx scripts/bundle.ts',
});
project.preCompileTask.spawn(bundle);

// `npm start`: run the data plane locally on its embedded default configuration. node loads tsx
// itself (no tsx CLI process relaying signals a second time); the service stops on one signal and
// when the launcher chain above it is gone.
project.addTask('start', {
  description: 'Run the gateway locally (plain UDP Listener demo on 127.0.0.1:5555, SNS endpoint on :4576)',
  exec: 'node --import tsx service/main.ts --local',
  receiveArgs: true,
});

// The client CLI (send datagrams, listen for pushed packets).
project.addBins({ 'packet-gateway': 'bin/packet-gateway.js' });

// `npm run fleet -- --tasks 3`: N gateway tasks in AWS mode behind a load-balancer stand-in (root, Linux).
project.addTask('fleet', {
  description: 'Run N gateway tasks in AWS mode behind an NLB stand-in, with local DynamoDB, SNS, SQS and Lambda APIs (root, Linux)',
  exec: 'tsx scripts/fleet/main.ts',
  receiveArgs: true,
});

// `npm run fleet:global -- --tasks 2`: two regions' fleets behind an accelerator stand-in (root, Linux; docs/FLEET.md "Global").
project.addTask('fleet:global', {
  description: 'Run two regions of gateway tasks behind an anycast accelerator stand-in, each with local AWS APIs (root, Linux)',
  exec: 'tsx scripts/fleet/global-main.ts',
  receiveArgs: true,
});

project.addTask('bench', {
  description: 'Run the benchmarks and write docs/BENCHMARKS.md and bench/results.json',
  exec: 'tsx bench/run.ts',
  receiveArgs: true,
});

new JsonFile(project, 'cdk.json', {
  obj: {
    // Bundles the data plane and handlers first, so a fresh clone synthesizes after `npm ci` alone.
    app: 'npx tsx scripts/bundle.ts && npx tsx examples/iot-push/app.ts',
    context: {
      '@aws-cdk/core:newStyleStackSynthesis': true,
    },
  },
});

// jsii's libdir is dist/lib; point main there too.
project.package.addField('main', 'dist/lib/index.js');
// Handler authors: `import type { Packet, Replies } from 'cdk-packet-gateway/handler'`.
project.package.addField('typesVersions', HANDLER_TYPES_VERSIONS);

// Type-check everything (lib, lambda, service, test, bench, examples) before the tests run.
project.testTask.prependExec('tsc --noEmit -p test/tsconfig.json');
// Construct tests load the bundled assets (service image context, Lambda code).
project.testTask.prependSpawn(bundle);

// Editor and eslint project for each runtime/tooling folder (the type-check itself uses test/tsconfig.json).
for (const dir of ['service', 'lambda', 'scripts', 'bench', 'examples']) {
  new JsonFile(project, `${dir}/tsconfig.json`, {
    obj: {
      extends: '../tsconfig.json',
      compilerOptions: { rootDir: '..', noEmit: true },
      include: ['**/*.ts', '../lib/**/*.ts'],
      exclude: ['node_modules'],
    },
  });
}

project.synth();
