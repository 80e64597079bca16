/**
 * `npm start`: will bring up a local cluster (ZooKeeper, metadata service, backend nodes,
 * frontend). Until the network services exist it says so and exits non-zero, so scripts notice.
 */
process.stderr.write(
  'Conveyor: the local cluster is not available yet. The queue engine is a library for now:\n' +
    '  npm test              runs the test suite\n' +
    '  npm run bench:engine  measures the engine on this machine\n',
);
process.exitCode = 1;
