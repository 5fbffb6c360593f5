import * as fs from 'node:fs';
import * as path from 'node:path';
import { Scenario, ScenarioResult } from '../lib/scenario';

export const sourcedPlain: Scenario = {
  id: 'sourced-plain',
  title: 'sourced-plain',
  description: '',
  async run(): Promise<ScenarioResult> {
    const mod = 'service/sourcing/sourced-packet-processor.ts';
    if (!fs.existsSync(path.join(__dirname, '..', '..', mod))) return { status: 'pending', reason: `module ${mod} missing` };
    return { status: 'pending', reason: 'not wired yet' };
  },
};
