/**
 * CNI's result types (SPEC.md, section 5 "ADD Success"), the same in 1.0.0
 * and 1.1.0, and the abbreviated result a delegated IPAM plugin returns.
 */

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The namespace path for an interface in the container, empty on the host. */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export interface VersionResult {
  cniVersion: string;
  supportedVersions: string[];
}
