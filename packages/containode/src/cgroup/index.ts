export { CGROUP_ROOT, CONTROLLERS, detectCgroupLayout, describeLayout, type CgroupLayout, type Controller, type ControllerHome, type LayoutKind } from './layout.js';
export { CPU_PERIOD_US, cpuQuotaUs, planCgroup, type CgroupLimits, type CgroupPlan, type CgroupWrite } from './plan.js';
export { CGROUP_PARENT, ContainerCgroup, cgroupPids, removeCgroupDir, removeStaleCgroups, type OomReport, type StaleSweepOptions } from './cgroup.js';
