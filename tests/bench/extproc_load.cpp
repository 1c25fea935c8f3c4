// extproc_load: starts the real bbr-host binary (plaintext, 127.0.0.1 only)
// with the reference default chain and drives N concurrent ext_proc streams
// the way Envoy does (headers, then the body; optionally the response path),
// for a bounded number of streams or seconds, whichever ends first. Prints
// count, throughput, per-stream latency percentiles and the server's memory
// (VmRSS peak sampled during the load, VmHWM) and CPU time, as text and JSON.
//
//   extproc_load [--mode buffered|streamed|both] [--streams 64] [--requests 5000]
//                [--seconds 20] [--body chat|1MiB|<bytes>] [--response]
//                [--channels 4] [--chunk 65536]
#include "extproc_client.hpp"

#include "bench_support.hpp"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;
using bbr::test::ProcessingRequest;
using bbr::test::ProcessingResponse;

struct Options {
  std::vector<bool> modes = {false, true};  // streaming off, on
  int streams = 64;
  long requests = 5000;
  double seconds = 20;
  std::string body = "chat";
  bool response_path = false;
  int channels = 4;
  std::size_t chunk = 64 * 1024;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "extproc_load: " << problem
            << "\nusage: extproc_load [--mode buffered|streamed|both] [--streams N] [--requests N]"
               " [--seconds S] [--body chat|1MiB|<bytes>] [--response] [--channels N] [--chunk BYTES]\n";
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--mode") {
        std::string m = value();
        if (m == "buffered") o.modes = {false};
        else if (m == "streamed") o.modes = {true};
        else if (m == "both") o.modes = {false, true};
        else usage("--mode: expected buffered, streamed or both, got " + m);
      } else if (arg == "--streams") {
        o.streams = std::stoi(value());
      } else if (arg == "--requests") {
        o.requests = std::stol(value());
      } else if (arg == "--seconds") {
        o.seconds = std::stod(value());
      } else if (arg == "--body") {
        o.body = value();
      } else if (arg == "--response") {
        o.response_path = true;
      } else if (arg == "--channels") {
        o.channels = std::stoi(value());
      } else if (arg == "--chunk") {
        o.chunk = std::stoul(value());
      } else {
        usage("unknown argument " + arg);
      }
    } catch (const std::logic_error&) {
      usage(arg + ": not a number");
    }
  }
  if (o.streams < 1 || o.requests < 1 || o.seconds <= 0 || o.channels < 1 || o.chunk < 1) {
    usage("--streams, --requests, --seconds, --channels and --chunk must be positive");
  }
  return o;
}

std::string body_for(const std::string& spec) {
  if (spec == "chat") return bbr_bench::fixture("chat-completions.request.json");
  if (spec == "1MiB") return bbr_bench::large_prompt_body(bbr_bench::kOneMiB);
  std::size_t bytes = std::stoul(spec);
  return bbr_bench::large_prompt_body(std::max<std::size_t>(bytes, 128));
}

// /proc/<pid>/status field in kB (VmRSS, VmHWM); -1 when unreadable.
long proc_status_kb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// utime + stime of the process in seconds.
double proc_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  for (int index = 3; fields >> f; ++index) {
    if (index == 14) utime = std::stoul(f);
    if (index == 15) {
      stime = std::stoul(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

bool sets_model_header(const ProcessingResponse& r) {
  const envoy::service::ext_proc::v3::CommonResponse* common = nullptr;
  if (r.has_request_headers()) common = &r.request_headers().response();
  if (r.has_request_body()) common = &r.request_body().response();
  if (common == nullptr) return false;
  for (const auto& h : common->header_mutation().set_headers()) {
    if (h.header().key() == "X-Gateway-Model-Name") return true;
  }
  return false;
}

bool is_last_body_answer(const ProcessingResponse& r, bool request, bool streaming) {
  if (request ? !r.has_request_body() : !r.has_response_body()) return false;
  if (!streaming) return true;
  const auto& common = request ? r.request_body().response() : r.response_body().response();
  return common.body_mutation().streamed_response().end_of_stream();
}

struct StreamResult {
  bool ok = false;
  bool routed = false;  // X-Gateway-Model-Name was set
  std::string error;
};

// Receives until the last answer to a body; false when the stream ended or an
// immediate response came instead.
bool receive_body_answer(bbr::test::ProcessStream& stream, bool request, bool streaming,
                         StreamResult& result) {
  for (;;) {
    std::optional<ProcessingResponse> r = stream.receive();
    if (!r) {
      result.error = "stream ended before the body was answered";
      return false;
    }
    if (r->has_immediate_response()) {
      result.error = "immediate response " +
                     std::to_string(r->immediate_response().status().code());
      return false;
    }
    if (sets_model_header(*r)) result.routed = true;
    if (is_last_body_answer(*r, request, streaming)) return true;
  }
}

StreamResult one_stream(const std::shared_ptr<grpc::Channel>& channel,
                        const std::vector<ProcessingRequest>& request_messages,
                        const std::vector<ProcessingRequest>& response_messages, bool streaming) {
  StreamResult result;
  bbr::test::ProcessStream stream(channel, std::chrono::seconds(60));
  for (const auto& m : request_messages) {
    if (!stream.send(m)) {
      result.error = "send failed (request path)";
      return result;
    }
  }
  if (!receive_body_answer(stream, true, streaming, result)) return result;
  if (!response_messages.empty()) {
    for (const auto& m : response_messages) {
      if (!stream.send(m)) {
        result.error = "send failed (response path)";
        return result;
      }
    }
    if (!receive_body_answer(stream, false, streaming, result)) return result;
  }
  grpc::Status status = stream.close();
  if (!status.ok()) {
    result.error = "stream status " + std::to_string(status.error_code()) + ": " +
                   status.error_message();
    return result;
  }
  result.ok = true;
  return result;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  std::size_t index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

int run_mode(const Options& o, bool streaming) {
  const std::string request_body = body_for(o.body);
  const std::string response_body =
      o.body == "chat" ? bbr_bench::fixture("chat-completions.response.json") : request_body;
  const std::size_t chunk = streaming ? o.chunk : std::max<std::size_t>(request_body.size(), 1);

  std::vector<ProcessingRequest> request_messages;
  request_messages.push_back(bbr_bench::headers_message(
      true, bbr_bench::request_header_list(request_body.size()), false));
  for (auto& m : bbr_bench::body_messages(true, request_body, chunk)) request_messages.push_back(m);
  std::vector<ProcessingRequest> response_messages;
  if (o.response_path) {
    response_messages.push_back(bbr_bench::headers_message(
        false, {{":status", "200"}, {"content-type", "application/json"}}, false));
    const std::size_t response_chunk =
        streaming ? o.chunk : std::max<std::size_t>(response_body.size(), 1);
    for (auto& m : bbr_bench::body_messages(false, response_body, response_chunk)) {
      response_messages.push_back(m);
    }
  }

  // The reference harness's chain, over a temporary adapters directory.
  bbr::test::TempDir dir;
  dir.write("adapters/qwen.yaml", "baseModel: qwen\nadapters:\n- sql-lora-sheddable\n- foo\n");
  bbr::test::ServerOptions server_options;
  server_options.streaming = streaming;
  server_options.extra_args = {
      "--plugin",
      R"(body-field-to-header:body-field-to-header:{"fieldName":"model","headerName":"X-Gateway-Model-Name"})",
      "--plugin",
      R"(base-model-to-header:base-model-to-header:{"adaptersDir":")" +
          (dir.path() / "adapters").string() + R"("})"};
  bbr::test::ServerProcess server(server_options);
  const pid_t pid = server.pid();
  const long rss_idle_kb = proc_status_kb(pid, "VmRSS");
  const double cpu_before = proc_cpu_seconds(pid);

  // Separate connections: distinct channel arguments keep gRPC from sharing
  // one subchannel between them.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < o.channels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("bbr.load.connection", i);
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    channels.push_back(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server.grpc_port()),
                                                 grpc::InsecureChannelCredentials(), args));
  }

  std::atomic<long> next{0};
  std::atomic<bool> sampling{true};
  std::atomic<long> rss_peak_kb{rss_idle_kb};
  std::thread sampler([&] {
    while (sampling.load()) {
      long rss = proc_status_kb(pid, "VmRSS");
      if (rss > rss_peak_kb.load()) rss_peak_kb.store(rss);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::mutex merge_mutex;
  std::vector<double> latencies_ms;
  long failures = 0, routed = 0;
  std::string first_error;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> workers;
  for (int w = 0; w < o.streams; ++w) {
    workers.emplace_back([&, w] {
      std::vector<double> mine;
      long my_failures = 0, my_routed = 0;
      std::string my_error;
      const auto& channel = channels[static_cast<std::size_t>(w % o.channels)];
      while (next.fetch_add(1) < o.requests && Clock::now() < deadline) {
        const auto t0 = Clock::now();
        StreamResult r = one_stream(channel, request_messages, response_messages, streaming);
        const auto t1 = Clock::now();
        if (r.ok) {
          mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
          if (r.routed) ++my_routed;
        } else {
          ++my_failures;
          if (my_error.empty()) my_error = r.error;
        }
      }
      std::lock_guard<std::mutex> lock(merge_mutex);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
      failures += my_failures;
      routed += my_routed;
      if (first_error.empty()) first_error = my_error;
    });
  }
  for (auto& t : workers) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  sampling.store(false);
  sampler.join();
  const double cpu = proc_cpu_seconds(pid) - cpu_before;
  const long hwm_kb = proc_status_kb(pid, "VmHWM");
  const long rss_end_kb = proc_status_kb(pid, "VmRSS");

  std::sort(latencies_ms.begin(), latencies_ms.end());
  const long completed = static_cast<long>(latencies_ms.size());
  const char* mode = streaming ? "streamed" : "buffered";
  std::printf(
      "%s: body=%s (%zu bytes)%s streams=%d channels=%d completed=%ld failed=%ld routed=%ld "
      "wall=%.2fs throughput=%.1f streams/s latency_ms p50=%.3f p90=%.3f p99=%.3f max=%.3f "
      "server_cpu=%.2fs (%.1f us/stream) server_rss_kb idle=%ld peak_sampled=%ld end=%ld "
      "VmHWM=%ld\n",
      mode, o.body.c_str(), request_body.size(), o.response_path ? " +response" : "", o.streams,
      o.channels, completed, failures, routed, wall, static_cast<double>(completed) / wall,
      percentile(latencies_ms, 0.50), percentile(latencies_ms, 0.90),
      percentile(latencies_ms, 0.99), latencies_ms.empty() ? 0.0 : latencies_ms.back(), cpu,
      completed > 0 ? cpu * 1e6 / static_cast<double>(completed) : 0.0, rss_idle_kb,
      rss_peak_kb.load(), rss_end_kb, hwm_kb);
  std::printf(
      "{\"mode\":\"%s\",\"body\":\"%s\",\"body_bytes\":%zu,\"response_path\":%s,\"streams\":%d,"
      "\"channels\":%d,\"completed\":%ld,\"failed\":%ld,\"routed\":%ld,\"wall_seconds\":%.3f,"
      "\"throughput_per_second\":%.1f,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
      "\"max\":%.3f},\"server_cpu_seconds\":%.3f,\"server_rss_kb\":{\"idle\":%ld,"
      "\"peak_sampled\":%ld,\"end\":%ld,\"VmHWM\":%ld}}\n",
      mode, o.body.c_str(), request_body.size(), o.response_path ? "true" : "false", o.streams,
      o.channels, completed, failures, routed, wall, static_cast<double>(completed) / wall,
      percentile(latencies_ms, 0.50), percentile(latencies_ms, 0.90),
      percentile(latencies_ms, 0.99), latencies_ms.empty() ? 0.0 : latencies_ms.back(), cpu,
      rss_idle_kb, rss_peak_kb.load(), rss_end_kb, hwm_kb);
  std::fflush(stdout);
  if (failures > 0) std::cerr << mode << ": first failure: " << first_error << "\n";
  // Every stream must have worked and been routed: the load is also a check.
  return failures == 0 && completed > 0 && routed == completed ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  int exit_code = 0;
  try {
    for (bool streaming : options.modes) exit_code |= run_mode(options, streaming);
  } catch (const std::exception& e) {
    std::cerr << "extproc_load: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
