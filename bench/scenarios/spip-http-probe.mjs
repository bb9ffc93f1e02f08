import { httpProbe } from '../lib/probes.mjs';
import { connectionScenario } from '../lib/sensor.mjs';

export default connectionScenario({
  name: 'spip-http-probe',
  description: 'short connections, each one GET /.env answered and closed by Spip; shipping to Loom',
  payload: () => ({ bytes: httpProbe, info: { request: httpProbe.toString('latin1') } }),
  expectPrefix: 'HTTP/1.1 200',
  action: 'http',
  target: { connectionsPerSecond: 10_000 },
});
