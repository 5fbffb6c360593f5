import * as fs from 'node:fs';
import * as path from 'node:path';
import { Scenario, ScenarioResult } from '../lib/scenario';

export const replyLatency: Scenario = {
  id: 'reply-latency',
  title: 'reply-latency',
  description: '',
  async run(): Promise<ScenarioResult> {
    const mod = 'service/ingress';
    if (!fs.existsSync(path.join(__dirname, '..', '..', mod))) return { status: 'pending', reason: `module ${mod} missing` };
    return { status: 'pending', reason: 'not wired yet' };
  },
};
