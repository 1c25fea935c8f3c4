// sse_first_token: is the first token delayed? Starts the real bbr-host binary
// in streaming mode with a response chain of the caller's choice (a config
// file; by default the test event-editor plugin rewriting each event's model),
// then plays a text/event-stream response of N events, one event per body
// chunk, the way Envoy forwards an upstream's SSE. For each event it records
// whether the server forwarded it before the next chunk was sent (it waits up
// to --wait-ms for it, then sends the next one anyway), and the time from
// sending the event's chunk to receiving its forwarded chunk. Prints the
// count forwarded in time, time to first forwarded event, median and p99, as
// text and one JSON line.
//
//   sse_first_token [--config FILE] [--plugin-dir DIR]... [--events 200]
//                   [--streams 3] [--wait-ms 500]
#include "extproc_client.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string config;
  std::vector<std::string> plugin_dirs;
  int events = 200;
  int streams = 3;
  int wait_ms = 500;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "sse_first_token: " << problem
            << "\nusage: sse_first_token [--config FILE] [--plugin-dir DIR]... [--events N]"
               " [--streams N] [--wait-ms MS]\n";
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
    if (arg == "--config") {
      o.config = value();
    } else if (arg == "--plugin-dir") {
      o.plugin_dirs.push_back(value());
    } else if (arg == "--events") {
      o.events = std::stoi(value());
    } else if (arg == "--streams") {
      o.streams = std::stoi(value());
    } else if (arg == "--wait-ms") {
      o.wait_ms = std::stoi(value());
    } else {
      usage("unknown argument " + arg);
    }
  }
  if (o.events < 1 || o.streams < 1 || o.wait_ms < 1) usage("counts must be positive");
  return o;
}

// One OpenAI-shaped chat.completion.chunk event.
std::string event(int i, int total) {
  if (i + 1 == total) return "data: [DONE]\n\n";
  return R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1764201601,)"
         R"("model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"delta":{"content":" tok)" +
         std::to_string(i) + R"("},"logprobs":null,"finish_reason":null}]})" + "\n\n";
}

std::size_t count_events(const std::string& bytes) {
  std::size_t n = 0;
  for (std::size_t at = 0; (at = bytes.find("\n\n", at)) != std::string::npos; at += 2) ++n;
  return n;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t index =
      std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  return v[index];
}

struct StreamResult {
  int in_time = 0;                 // forwarded before the next chunk was sent
  std::vector<double> latency_us;  // per event forwarded (send -> receive)
  double first_us = -1;            // the first event's
  bool ok = true;
};

StreamResult run_stream(const std::shared_ptr<grpc::Channel>& channel, const Options& o) {
  StreamResult result;
  bbr::test::ProcessStream stream(channel, std::chrono::seconds(60));
  if (!stream.send(bbr::test::response_headers({{"content-type", "text/event-stream"}}, false)) ||
      !stream.receive()) {
    std::cerr << "sse_first_token: the response headers were not answered\n";
    result.ok = false;
    return result;
  }
  // A reader thread timestamps every forwarded chunk; the writer waits on it.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Clock::time_point> forwarded_at;  // when each event (by index) came back
  bool ended = false;
  std::thread reader([&] {
    std::string bytes;
    while (auto r = stream.receive()) {
      const auto now = Clock::now();
      const auto& chunk = r->response_body().response().body_mutation().streamed_response();
      bytes += chunk.body();
      const std::size_t n = count_events(bytes);
      {
        std::lock_guard lock(mu);
        while (forwarded_at.size() < n) forwarded_at.push_back(now);
      }
      cv.notify_all();
      if (chunk.end_of_stream()) break;
    }
    std::lock_guard lock(mu);
    ended = true;
    cv.notify_all();
  });
  std::vector<Clock::time_point> sent_at;
  for (int i = 0; i < o.events; ++i) {
    sent_at.push_back(Clock::now());
    if (!stream.send(bbr::test::response_body(event(i, o.events), i + 1 == o.events))) {
      std::cerr << "sse_first_token: sending event " << i << " failed\n";
      result.ok = false;
      break;
    }
    std::unique_lock lock(mu);
    // A plugin may drop or add events, so "forwarded" means: as many events
    // came back as were sent. Waiting is bounded; then the next goes anyway.
    if (cv.wait_for(
            lock, std::chrono::milliseconds(o.wait_ms),
            [&] { return forwarded_at.size() >= static_cast<std::size_t>(i + 1) || ended; }) &&
        forwarded_at.size() >= static_cast<std::size_t>(i + 1)) {
      ++result.in_time;
    }
  }
  reader.join();
  stream.close();
  for (std::size_t i = 0; i < forwarded_at.size() && i < sent_at.size(); ++i) {
    const double us =
        std::chrono::duration<double, std::micro>(forwarded_at[i] - sent_at[i]).count();
    result.latency_us.push_back(us);
    if (i == 0) result.first_us = us;
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  bbr::test::TempDir dir;
  std::string config = o.config;
  if (config.empty()) {
    config = dir.write("bbr.yaml",
                       "apiVersion: inference.networking.x-k8s.io/v1alpha1\n"
                       "kind: BodyBasedRoutingConfig\n"
                       "plugins:\n"
                       "  - {type: test-event-editor, name: rewrite, parameters: {setModel: "
                       "client-model}}\n"
                       "request: []\n"
                       "response: [{pluginRef: rewrite}]\n")
                 .string();
  }
  bbr::test::ServerOptions server_options;
  server_options.streaming = true;
  server_options.extra_args = {"--config", config, "--allow-insecure-plugin-permissions"};
  std::vector<std::string> dirs = o.plugin_dirs;
  if (o.config.empty() || dirs.empty()) dirs.push_back(BBR_TEST_PLUGIN_DIR);
  for (const auto& d : dirs) {
    server_options.extra_args.push_back("--plugin-dir");
    server_options.extra_args.push_back(d);
  }
  bbr::test::ServerProcess server(server_options);
  auto channel = server.channel();

  int in_time = 0;
  int total = 0;
  std::vector<double> latencies;
  std::vector<double> firsts;
  for (int s = 0; s < o.streams; ++s) {
    StreamResult r = run_stream(channel, o);
    if (!r.ok) {
      std::cerr << "sse_first_token: stream " << s << " failed\n" << server.output();
      return 1;
    }
    in_time += r.in_time;
    total += o.events;
    latencies.insert(latencies.end(), r.latency_us.begin(), r.latency_us.end());
    if (r.first_us >= 0) firsts.push_back(r.first_us);
  }
  const double first = percentile(firsts, 0.5);
  const double median = percentile(latencies, 0.5);
  const double p99 = percentile(latencies, 0.99);
  std::printf("events per stream      %d (x%d streams, one event per chunk)\n", o.events,
              o.streams);
  std::printf("forwarded before next  %d of %d\n", in_time, total);
  std::printf("first event            %.1f us (median over streams)\n", first);
  std::printf("per event              median %.1f us, p99 %.1f us\n", median, p99);
  std::printf(
      "{\"events\":%d,\"streams\":%d,\"forwarded_before_next\":%d,\"total\":%d,"
      "\"first_event_us\":%.1f,\"median_us\":%.1f,\"p99_us\":%.1f}\n",
      o.events, o.streams, in_time, total, first, median, p99);
  return in_time == total ? 0 : 3;
}
