import { BridgeProcess } from '../test/support/bridge-process.js';
import { bridgeLoad } from './throughput-bench.js';
const b = new BridgeProcess({}, '/tmp/x');
b.url = process.env.URL!;
const r = await bridgeLoad(b, { durationS: 8, warmupS: 2 });
console.log(JSON.stringify({ rps: r.load }));
