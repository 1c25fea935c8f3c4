// The default --workers rule, on real cgroup-shaped files in a temporary
// directory (the same reading code as on /sys/fs/cgroup and /proc/self).
#include "extproc/worker_count.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace {

class FakeCgroupTree {
 public:
  FakeCgroupTree() {
    root_ = std::filesystem::temp_directory_path() /
            ("bbr-worker-count-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(root_);
  }
  ~FakeCgroupTree() { std::filesystem::remove_all(root_); }
  // Writes `text` to `relative` under the root, creating its folders.
  std::filesystem::path write(const std::string& relative, const std::string& text) const {
    const auto file = root_ / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file;
  }
  const std::filesystem::path& root() const { return root_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path root_;
};

}  // namespace

TEST_CASE("cpu.max: a quota is quota / period CPUs; max, absent or garbled is no quota",
          "[workers]") {
  FakeCgroupTree tree;
  CHECK(bbr::cpu_max_cpus(tree.write("a/cpu.max", "150000 100000\n")) == Approx(1.5));
  CHECK(bbr::cpu_max_cpus(tree.write("b/cpu.max", "50000 100000\n")) == Approx(0.5));
  CHECK_FALSE(bbr::cpu_max_cpus(tree.write("c/cpu.max", "max 100000\n")));
  CHECK_FALSE(bbr::cpu_max_cpus(tree.root() / "missing" / "cpu.max"));
  CHECK_FALSE(bbr::cpu_max_cpus(tree.write("d/cpu.max", "lots 100000\n")));
  CHECK_FALSE(bbr::cpu_max_cpus(tree.write("e/cpu.max", "100000 0\n")));
}

TEST_CASE("the smallest quota from the process's cgroup up to the root applies", "[workers]") {
  FakeCgroupTree tree;
  tree.write("cpu.max", "max 100000\n");
  tree.write("kubepods/cpu.max", "400000 100000\n");
  tree.write("kubepods/pod1/cpu.max", "200000 100000\n");
  tree.write("kubepods/pod1/c1/cpu.max", "max 100000\n");
  CHECK(bbr::cgroup_cpu_quota(tree.root(), "/kubepods/pod1/c1") == Approx(2.0));
  CHECK(bbr::cgroup_cpu_quota(tree.root(), "/kubepods") == Approx(4.0));
  CHECK_FALSE(bbr::cgroup_cpu_quota(tree.root(), "/"));
  CHECK_FALSE(bbr::cgroup_cpu_quota(tree.root(), "/elsewhere/unlimited"));
}

TEST_CASE("/proc/self/cgroup: the cgroup v2 line names the path", "[workers]") {
  FakeCgroupTree tree;
  CHECK(bbr::cgroup_v2_path(tree.write("v2", "0::/kubepods/pod1/c1\n")) == "/kubepods/pod1/c1");
  CHECK(bbr::cgroup_v2_path(tree.write("hybrid", "4:memory:/x\n1:cpu:/\n0::/\n")) == "/");
  CHECK_FALSE(bbr::cgroup_v2_path(tree.write("v1", "4:memory:/x\n1:cpu:/\n")));
}

TEST_CASE("workers: the CPUs in the affinity mask, capped by the rounded quota, at least 1",
          "[workers]") {
  CHECK(bbr::workers_for(8, std::nullopt, 256) == 8);
  CHECK(bbr::workers_for(8, 2.0, 256) == 2);
  CHECK(bbr::workers_for(8, 1.5, 256) == 2);   // rounded to the nearest CPU
  CHECK(bbr::workers_for(8, 1.4, 256) == 1);
  CHECK(bbr::workers_for(8, 0.25, 256) == 1);  // a fraction of a CPU still gets one
  CHECK(bbr::workers_for(2, 6.0, 256) == 2);   // a quota above the mask adds nothing
  CHECK(bbr::workers_for(0, std::nullopt, 256) == 1);
  CHECK(bbr::workers_for(512, std::nullopt, 256) == 256);
}

TEST_CASE("workers: this process gets at least one and no more than its CPUs", "[workers]") {
  const bbr::WorkerCount count = bbr::default_worker_count(256);
  CHECK(count.workers >= 1);
  CHECK(count.workers <= std::max(1u, std::thread::hardware_concurrency()));
  CHECK_FALSE(count.reason.empty());
}
