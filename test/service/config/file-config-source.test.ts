import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileConfigSource, loadConfigFile } from '../../../service/config/file-config-source';
import { silentLogger } from '../helpers';

describe('FileConfigSource', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pg-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const config = {
    Listeners: [{ Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: [{ Name: 'h', Type: 'local', Module: './handlers/h.ts' }, { Name: 'abs', Type: 'local', Module: '/opt/h.js' }] }],
  };

  test('resolves relative handler modules against the file directory', async () => {
    const path = join(dir, 'gateway.json');
    writeFileSync(path, JSON.stringify(config));
    const doc = await loadConfigFile(path);
    expect(doc.Listeners[0].Destinations.map((d) => d.Module)).toEqual([join(dir, 'handlers', 'h.ts'), '/opt/h.js']);
  });

  test('a Listener given by Proxylity\'s Protocols list is loaded with its Protocol', async () => {
    const path = join(dir, 'gateway.json');
    writeFileSync(path, JSON.stringify({ Listeners: [{ Name: 'demo', Protocols: ['wg'], Port: 5555, Destinations: [], WireGuard: { AllowUnknownPeers: true } }] }));
    const doc = await loadConfigFile(path);
    expect(doc.Listeners[0]).toMatchObject({ Protocol: 'wg', Protocols: ['wg'] });
  });

  test.each([
    ['not JSON', '{"Listeners": [', /^config file .*gateway\.json is not valid JSON: /],
    ['invalid', JSON.stringify({ Listeners: [{ Name: 'demo', Protocol: 'udp', Port: 0, Destinations: [] }] }), /is invalid \(1 error\):\n {2}Listeners\[0\]\.Port: 0 is not a valid port \(allowed: integer 1–65535\)$/],
  ])('fails if the file is %s', async (_name, text, message) => {
    const path = join(dir, 'gateway.json');
    writeFileSync(path, text);
    await expect(new FileConfigSource({ path }).start()).rejects.toThrow(message);
  });

  test('fails if the file does not exist', async () => {
    await expect(loadConfigFile(join(dir, 'none.json'))).rejects.toThrow(/^config file .*none\.json cannot be read: ENOENT/);
  });

  test('reload applies a valid edit and ignores an invalid one', async () => {
    const path = join(dir, 'gateway.json');
    writeFileSync(path, JSON.stringify(config));
    const source = new FileConfigSource({ path, logger: silentLogger });
    const ports: number[] = [];
    source.onChange((c) => ports.push(c.Listeners[0].Port));
    await source.start();
    writeFileSync(path, JSON.stringify({ Listeners: [{ ...config.Listeners[0], Port: 6000 }] }));
    expect(await source.reload()).toBe(true);
    writeFileSync(path, '{broken');
    expect(await source.reload()).toBe(false);
    expect(await source.reload()).toBe(false);
    expect(ports).toEqual([6000]);
    expect(source.current().Listeners[0].Port).toBe(6000);
    await source.stop();
  });
});
