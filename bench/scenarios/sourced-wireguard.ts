import * as fs from 'node:fs';
import * as path from 'node:path';
import { Scenario, ScenarioResult } from '../lib/scenario';

export const sourcedWireGuard: Scenario = {
  id: 'sourced-wireguard',
  title: 'sourced-wireguard',
  description: '',
  async run(): Promise<ScenarioResult> {
    const mod = 'service/wireguard';
    if (!fs.existsSync(path.join(__dirname, '..', '..', mod))) return { status: 'pending', reason: `module ${mod} missing` };
    return { status: 'pending', reason: 'not wired yet' };
  },
};
