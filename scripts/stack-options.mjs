// `npm run stack`'s command line and environment: the options, the peers' folder and the
// Prometheus binary. A bad option prints the usage and exits 2; --help prints it and exits 0.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run stack [-- --collector] [-- --prometheus] [-- --ports free]
  --collector    send through an OpenTelemetry Collector (otel-collector.yaml) to Jaeger
  --prometheus   also run Prometheus (deploy/prometheus/prometheus.yml, needs /usr/bin/prometheus)
  --ports free   free loopback ports for everything instead of 8787, 16686, 4317/4318, 9090
Peers are built into OPRELAY_PEERS_DIR (default ~/.cache/oprelay-bridge/peers); the bridge reads
its usual BRIDGE_* settings from the environment. Ctrl-C stops everything.`;

/** The stack's options from process.argv and the environment; exits on a bad option or --help. */
export function stackOptions() {
  let options;
  try {
    options = parseArgs({
      options: {
        collector: { type: 'boolean', default: false },
        prometheus: { type: 'boolean', default: false },
        ports: { type: 'string', default: 'fixed' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (options.ports !== 'fixed' && options.ports !== 'free') {
    process.stderr.write(`--ports: expected fixed or free, got "${options.ports}"\n`);
    process.exit(2);
  }
  const peersDir =
    process.env.OPRELAY_PEERS_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'oprelay-bridge', 'peers');
  const prometheusBin = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';
  return { options, peersDir, prometheusBin };
}
