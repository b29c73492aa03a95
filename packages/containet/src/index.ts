export { Datapath, type DatapathEvent, type DatapathMac, type DatapathOptions, type PortStats } from './datapath.js';
export { Switch, type AttachSpec, type SwitchOptions } from './switch.js';
export type { SwitchStatus } from '@containet/common';
export { ControlServer, claimSocketPath, errorBody, type Connection, type ControlServerOptions } from './control-server.js';
export { Daemon, parseAttach, type DaemonOptions } from './daemon.js';
export { program, main } from './cli.js';
export { HostGateway, gatewayTag, type GatewayRecord } from './host/gateway.js';
