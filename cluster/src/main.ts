/**
 * `npm start`: a whole Conveyor on this machine — a private ZooKeeper, a metadata service, backend
 * clusters of replicated nodes and SQS frontends — with its data in one directory, so a restart
 * keeps every queue and message. Ctrl-C stops everything it started.
 *   npm start -- [--data-dir ./data] [--port 9324] [--clusters 1] [--replicas 3] [--frontends 1] [--no-auth]
 */
import { parseArgs } from 'node:util';
import { LaunchError, startLocalCluster } from './launcher/local-cluster.ts';

const say = (line: string): void => void process.stdout.write(`${line}\n`);

function fail(message: string): never {
  process.stderr.write(`conveyor: ${message}\n`);
  process.exit(1);
}

let values;
try {
  values = parseArgs({
    options: {
      'data-dir': { type: 'string', default: './data' },
      port: { type: 'string', default: '9324' },
      clusters: { type: 'string', default: '1' },
      replicas: { type: 'string', default: '3' },
      frontends: { type: 'string', default: '1' },
      'no-auth': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (error) {
  fail(`${(error as Error).message}\nUsage: npm start -- [--data-dir DIR] [--port 9324] [--clusters N] [--replicas N] [--frontends N] [--no-auth]`);
}
if (values.help) {
  say('Usage: npm start -- [--data-dir DIR] [--port 9324] [--clusters N] [--replicas N] [--frontends N] [--no-auth]');
  process.exit(0);
}
const number = (name: string, text: string): number => {
  if (!/^\d+$/.test(text)) fail(`--${name} must be a whole number, not "${text}".`);
  return Number(text);
};
const port = number('port', values.port);
if (port < 1 || port > 65_535) fail(`--port must be between 1 and 65535, not ${port}.`);

say(`Starting Conveyor (data in ${values['data-dir']})…`);
let cluster;
try {
  cluster = await startLocalCluster({
    dataDir: values['data-dir'],
    port,
    clusters: number('clusters', values.clusters),
    replicas: number('replicas', values.replicas),
    frontends: number('frontends', values.frontends),
    auth: !values['no-auth'],
    say,
  });
} catch (error) {
  if (error instanceof LaunchError) fail(error.message);
  fail(`could not start: ${(error as Error).message}`);
}

say(`Conveyor is running: ${cluster.clusters} cluster(s) with ${cluster.nodes} replicated backend nodes in all, ${values.frontends} frontend(s), data in ${values['data-dir']}.`);
say(`Operate it with: npx conveyor --data-dir ${values['data-dir']} status   (also: queue, cluster, node; --help for more)`);
say(`SQS endpoint: ${cluster.endpoint}`);
say(`Shell exports of the endpoint and key, for SDKs and the AWS CLI: eval "$(npx conveyor --data-dir ${values['data-dir']} env)"`);
if (cluster.credentials) {
  say(`Access key: ${cluster.credentials.accessKeyId}`);
  say(`Secret key: ${cluster.credentials.secretAccessKey}`);
  say(`(Region us-east-1, account ${cluster.credentials.accountId}; the key is kept in ${values['data-dir']}/auth-keys.json.)`);
  say(`Try: AWS_ACCESS_KEY_ID=${cluster.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY='${cluster.credentials.secretAccessKey}' aws --region us-east-1 --endpoint-url ${cluster.endpoint} sqs create-queue --queue-name demo`);
} else {
  say('Authentication is off (--no-auth): any key works, and queues belong to account 000000000000.');
  say(`Try: curl -s ${cluster.endpoint} -H 'X-Amz-Target: AmazonSQS.CreateQueue' -H 'Content-Type: application/x-amz-json-1.0' -d '{"QueueName":"demo"}'`);
}
say('Press Ctrl-C to stop.');

let stopping = false;
const stop = async (signal: string): Promise<void> => {
  if (stopping) return;
  stopping = true;
  say(`\n${signal}: stopping every process Conveyor started…`);
  await cluster.stop();
  say('Stopped.');
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
