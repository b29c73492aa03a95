export { CGROUP_ROOT, CONTROLLERS, detectCgroupLayout, describeLayout, hierarchyOf, type CgroupLayout, type Controller, type ControllerHome, type Hierarchy, type LayoutKind } from './layout.js';
export { CONTAINODE_LABELS, CPU_PERIOD_US, OCI_LABELS, cpuQuotaUs, limitsToResources, planCgroup, planResources, type CgroupLimits, type CgroupPlan, type CgroupResources, type CgroupWrite, type ResourceLabels } from './plan.js';
export { CGROUP_PARENT, ContainerCgroup, cgroupPids, removeCgroupDir, removeStaleCgroups, type CgroupOptions, type OomReport, type StaleSweepOptions } from './cgroup.js';
