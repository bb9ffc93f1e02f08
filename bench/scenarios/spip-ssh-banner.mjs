import { sshClientOpening } from '../lib/probes.mjs';
import { connectionScenario } from '../lib/sensor.mjs';

export default connectionScenario({
  name: 'spip-ssh-banner',
  description: 'short connections, each one an OpenSSH 9.2p1 banner + KEXINIT; Spip answers its banner and closes',
  payload: async () => {
    const opening = await sshClientOpening();
    return { bytes: opening.bytes, info: { hassh: opening.hassh } };
  },
  expectPrefix: 'SSH-',
  action: 'ssh',
});
