// @discordjs/proxy in front of the fake Discord, on loopback only, for the
// scenario "behind @discordjs/proxy" (tests/scenarios/load.rs).
//   UPSTREAM=http://127.0.0.1:PORT MODE=queue|429 node serve.mjs
// MODE=queue holds requests until their bucket has room (the library's
// default); MODE=429 answers 429 with Retry-After instead (rejectOnRateLimit,
// as the proxy's container is set up). Prints "listening PORT" once ready.
import { createServer } from 'node:http';
import { REST } from '@discordjs/rest';
import { proxyRequests } from '@discordjs/proxy';

const upstream = process.env.UPSTREAM;
if (!upstream) {
  console.error('UPSTREAM is not set');
  process.exit(2);
}
const reject = process.env.MODE === '429';
const rest = new REST({
  api: `${upstream}/api`,
  version: '10',
  rejectOnRateLimit: reject ? () => true : null,
  // The bot's token comes with each request (the proxy forwards its
  // Authorization header); this one is never sent.
}).setToken('unused');
const server = createServer(proxyRequests(rest));
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
