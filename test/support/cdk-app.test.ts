import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { SuiteOutput, testApp } from './cdk-app';
import { testStack } from '../lib/support';

test('an App\'s template and staged assets go to a folder of its suite, which remove() deletes', () => {
  const output = new SuiteOutput();
  expect(output.directory).toBeUndefined();
  const app = testApp({}, output);
  const stack = new Stack(app, 'Staged');
  new s3assets.Asset(stack, 'Fixture', { path: join(__dirname, '..', 'fixtures') });
  Template.fromStack(stack);
  const suite = output.directory!;
  expect(suite.startsWith(join(tmpdir(), 'pgw-test-cdk-'))).toBe(true);
  expect(app.outdir.startsWith(`${suite}/cdk.out-`)).toBe(true);
  expect(readdirSync(app.outdir)).toEqual(expect.arrayContaining(['Staged.template.json', 'manifest.json', expect.stringMatching(/^asset\./)]));
  const another = testApp({}, output);
  expect(another.outdir).not.toBe(app.outdir);
  output.remove();
  expect(existsSync(suite)).toBe(false);
  expect(output.directory).toBeUndefined();
});

test('an outdir given by the test is kept', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'pgw-test-given-'));
  try {
    expect(testApp({ outdir }).outdir).toBe(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});

test('construct tests\' stacks synthesize into the suite\'s folder, not a cdk.out folder of their own in the temporary directory', () => {
  const app = testStack().node.root as App;
  expect(app.outdir.startsWith(join(tmpdir(), 'pgw-test-cdk-'))).toBe(true);
  const plain = new App(); // what an App does without an outdir: a folder of its own, left behind
  expect(plain.outdir.startsWith(join(tmpdir(), 'cdk.out'))).toBe(true);
  rmSync(plain.outdir, { recursive: true, force: true });
});
