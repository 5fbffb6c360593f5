/**
 * CDK Apps for construct tests whose output is removed after the suite. An App without `outdir`
 * synthesizes into a new `cdk.out…` folder in the system's temporary directory, and stages its
 * assets (the service image context, the Lambda bundles) there: thousands of folders per test run
 * that nothing removes. {@link testApp} gives each App a folder of its own inside one folder per
 * suite, which is removed after the suite: importing this module registers that `afterAll` (the
 * jest configuration is generated, so there is no setup file to do it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, AppProps } from 'aws-cdk-lib';

/** One folder holding the output folders of the Apps of one suite. */
export class SuiteOutput {
  private root?: string;

  /** The suite's folder, made on first use; undefined before any App was made. */
  get directory(): string | undefined {
    return this.root;
  }

  /** A new, empty output folder inside the suite's folder. */
  newOutdir(): string {
    this.root ??= mkdtempSync(join(tmpdir(), 'pgw-test-cdk-'));
    return mkdtempSync(join(this.root, 'cdk.out-'));
  }

  /** Removes the suite's folder and everything in it. */
  remove(): void {
    if (this.root) rmSync(this.root, { recursive: true, force: true });
    this.root = undefined;
  }
}

/** The output of this suite's Apps (jest evaluates this module once per test file). */
const suiteOutput = new SuiteOutput();
afterAll(() => suiteOutput.remove());

/** An App whose output goes to a folder removed after the suite (unless `props.outdir` names one). */
export function testApp(props: AppProps = {}, output: SuiteOutput = suiteOutput): App {
  return new App({ ...props, outdir: props.outdir ?? output.newOutdir() });
}
