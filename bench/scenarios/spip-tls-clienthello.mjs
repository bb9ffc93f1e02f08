import { captureClientHello } from '../lib/probes.mjs';
import { connectionScenario } from '../lib/sensor.mjs';

export default connectionScenario({
  name: 'spip-tls-clienthello',
  description: 'short connections, each one a TLS 1.3 ClientHello to a certificate-less Spip, then FIN',
  payload: async () => {
    const hello = await captureClientHello();
    return { bytes: hello.bytes, info: { ja4: hello.ja4, server_name: hello.serverName } };
  },
  // Without a certificate Spip records the hello and reads on until the client is done, so the
  // client half-closes after the hello, as a scanner that only wanted the fingerprint does.
  halfClose: true,
  action: 'tls-clienthello-only',
});
