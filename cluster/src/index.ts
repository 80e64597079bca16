/** Public entry point of the cluster workspace: the local launcher's building blocks. */
export { ZOOKEEPER_INSTALL_HINT, findExecutable, findZooKeeperInstall, pathDirs, type ZooKeeperInstall } from './launcher/zookeeper-install.ts';
export { initialLayout, loadLayout, nextClusterId, nextNodeId, removalRefusal, type Layout, type NodeSpec, type ClusterSpec, type NodeStanding } from './launcher/layout.ts';
export { entryArgs, entryBundle, type BundleOptions } from './launcher/entry-bundle.ts';
export { SERVER_V8_ARGS, serverNodeArgs } from './launcher/processes.ts';
export { freePort, freePorts } from './launcher/free-port.ts';
