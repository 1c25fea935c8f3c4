// How many ext_proc workers (completion queues, one thread each) to run when
// --workers is not given: the CPUs this process may use, as the scheduler's
// affinity mask and the cgroup v2 CPU quota (cpu.max) say, the quota rounded
// to the nearest whole CPU, at least 1 (docs/operations.md, "Threads and
// memory", has the reasoning and the measurement).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace bbr {

// The CPUs a cgroup v2 cpu.max file grants ("<quota> <period>", e.g.
// "150000 100000" is 1.5); nullopt for "max <period>" (no quota), a missing
// file or one that does not parse.
std::optional<double> cpu_max_cpus(const std::filesystem::path& cpu_max_file);

// The smallest quota on the way from the cgroup `path` (as /proc/self/cgroup
// names it, e.g. "/kubepods/pod1/c1") up to `cgroup_root`: a parent's quota
// bounds its children too.
std::optional<double> cgroup_cpu_quota(const std::filesystem::path& cgroup_root,
                                       const std::string& path);

// The cgroup v2 path in a /proc/<pid>/cgroup file (its "0::<path>" line);
// nullopt when there is none (cgroup v1 only).
std::optional<std::string> cgroup_v2_path(const std::filesystem::path& proc_cgroup_file);

// The rule: `affinity_cpus`, capped by the quota rounded to the nearest whole
// CPU, at least 1, at most `most`.
unsigned workers_for(unsigned affinity_cpus, std::optional<double> quota_cpus, unsigned most);

struct WorkerCount {
  unsigned workers = 1;
  std::string reason;  // for the start-up log
};

// The rule applied to this process (sched_getaffinity, /proc/self/cgroup,
// /sys/fs/cgroup).
WorkerCount default_worker_count(unsigned most);

}  // namespace bbr
