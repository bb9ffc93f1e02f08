import { idleScenario } from '../lib/sensor.mjs';

export default idleScenario({
  name: 'spip-idle-memory',
  description: 'idle connections held open (no byte sent): Spip memory per connection, and an HTTP probe meanwhile',
});
