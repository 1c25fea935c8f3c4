#include "extproc/worker_count.hpp"

#include <fmt/format.h>

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string_view>

namespace bbr {

std::optional<double> cpu_max_cpus(const std::filesystem::path& cpu_max_file) {
  std::ifstream in(cpu_max_file);
  std::string quota;
  double period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return std::nullopt;
  try {
    std::size_t used = 0;
    const double value = std::stod(quota, &used);
    if (used != quota.size() || value <= 0) return std::nullopt;
    return value / period;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<double> cgroup_cpu_quota(const std::filesystem::path& cgroup_root,
                                       const std::string& path) {
  std::optional<double> smallest;
  std::filesystem::path relative = std::filesystem::path(path).relative_path();
  for (;;) {
    if (auto cpus = cpu_max_cpus(cgroup_root / relative / "cpu.max")) {
      if (!smallest || *cpus < *smallest) smallest = cpus;
    }
    if (relative.empty()) break;
    relative = relative.parent_path();
  }
  return smallest;
}

std::optional<std::string> cgroup_v2_path(const std::filesystem::path& proc_cgroup_file) {
  std::ifstream in(proc_cgroup_file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return std::nullopt;
}

unsigned workers_for(unsigned affinity_cpus, std::optional<double> quota_cpus, unsigned most) {
  double cpus = std::max(1u, affinity_cpus);
  if (quota_cpus) cpus = std::min(cpus, std::round(*quota_cpus));
  return static_cast<unsigned>(std::clamp(cpus, 1.0, static_cast<double>(std::max(1u, most))));
}

WorkerCount default_worker_count(unsigned most) {
  cpu_set_t set;
  CPU_ZERO(&set);
  unsigned affinity = 1;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) affinity = std::max(1, CPU_COUNT(&set));
  std::optional<double> quota;
  if (auto path = cgroup_v2_path("/proc/self/cgroup")) {
    quota = cgroup_cpu_quota("/sys/fs/cgroup", *path);
  }
  WorkerCount out;
  out.workers = workers_for(affinity, quota, most);
  out.reason = quota ? fmt::format("{} CPUs in the affinity mask, a cgroup quota of {:.2f} CPUs",
                                   affinity, *quota)
                     : fmt::format("{} CPUs in the affinity mask, no cgroup CPU quota", affinity);
  return out;
}

}  // namespace bbr
