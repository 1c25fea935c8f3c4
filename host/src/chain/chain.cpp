#include "chain/chain.hpp"

#include "log/log.hpp"

#include <chrono>
#include <fmt/format.h>

namespace bbr {

uint32_t http_status_for(bbr_result_t result) {
  switch (result) {
    case BBR_FAIL_BAD_REQUEST:
    case BBR_FAIL_UNAUTHORIZED:
    case BBR_FAIL_FORBIDDEN:
    case BBR_FAIL_NOT_FOUND:
    case BBR_FAIL_TOO_MANY_REQUESTS:
    case BBR_FAIL_INTERNAL:
    case BBR_FAIL_UNAVAILABLE: return static_cast<uint32_t>(result);
    default: return 0;
  }
}

namespace {

// The reference's names for its typed error codes, used in its error texts.
const char* error_code_name(uint32_t http_status) {
  switch (http_status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 429: return "ResourceExhausted";
    case 500: return "Internal";
    case 503: return "ServiceUnavailable";
    default: return "Unknown";
  }
}

}  // namespace

std::optional<ImmediateResponse> reference_failure_response(const ChainOutcome& outcome) {
  if (outcome.kind != ChainOutcome::Kind::kFailed || outcome.http_status == 0) return std::nullopt;
  return ImmediateResponse{outcome.http_status,
                           fmt::format("inference error: {} - {}", error_code_name(outcome.http_status),
                                       outcome.error),
                           {}};
}

PluginInstance::PluginInstance(PluginTypeRef type, std::string instance_name,
                               std::string parameters_json, Metrics* metrics)
    : type_(std::move(type)) {
  context_.type_name = type_.type->name;
  context_.instance_name = std::move(instance_name);
  context_.metrics = metrics;
  if (!parameters_json.empty()) {
    context_.parameters = nlohmann::json::parse(parameters_json, nullptr, /*allow_exceptions=*/false);
    if (context_.parameters.is_discarded()) context_.parameters = nullptr;
  }

  char error[1024] = {0};
  bbr_create_args_t args{};
  args.struct_size = sizeof(args);
  args.api = host_api();
  args.context = &context_;
  args.instance_name = bbr_buffer_t{context_.instance_name.data(), context_.instance_name.size()};
  args.parameters_json = bbr_buffer_t{parameters_json.data(), parameters_json.size()};
  args.error = error;
  args.error_capacity = sizeof(error);
  void* instance = nullptr;
  int rc = type_.type->create(&args, &instance);
  error[sizeof(error) - 1] = '\0';
  if (rc != 0) {
    throw CreateError(error[0] != '\0' ? std::string(error)
                                       : fmt::format("create returned {} without a message", rc));
  }
  if (instance == nullptr) {
    // Allowed: a stateless plugin may use NULL as its instance.
  }
  instance_ = instance;
}

PluginInstance::~PluginInstance() {
  if (type_.type->destroy != nullptr) type_.type->destroy(instance_);
}

bbr_result_t PluginInstance::process(Message& msg) {
  auto hook = msg.phase() == BBR_PHASE_REQUEST ? type_.type->process_request
                                               : type_.type->process_response;
  if (hook == nullptr) return BBR_CONTINUE;
  if (capabilities() & BBR_CAP_THREAD_SAFE) return hook(instance_, to_handle(&msg));
  std::lock_guard lock(call_mutex_);
  return hook(instance_, to_handle(&msg));
}

void Chain::add_request(std::shared_ptr<PluginInstance> instance) {
  request_.push_back(std::move(instance));
}

void Chain::add_response(std::shared_ptr<PluginInstance> instance) {
  response_.push_back(std::move(instance));
}

ChainOutcome Chain::run(Message& msg) const {
  const auto& plugins = msg.phase() == BBR_PHASE_REQUEST ? request_ : response_;
  for (const auto& plugin : plugins) {
    auto started = std::chrono::steady_clock::now();
    bbr_result_t result = plugin->process(msg);
    if (observer_) {
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
      observer_(*plugin, msg.phase(), took.count());
    }
    if (const auto& immediate = msg.immediate_response()) {
      ChainOutcome out;
      out.kind = ChainOutcome::Kind::kRejected;
      out.http_status = immediate->http_status;
      out.plugin = plugin->name();
      log::debug("plugin {} ({}) answered {}", plugin->name(), plugin->type_name(),
                 immediate->http_status);
      return out;
    }
    if (result != BBR_CONTINUE) {
      ChainOutcome out;
      out.kind = ChainOutcome::Kind::kFailed;
      out.http_status = http_status_for(result);
      out.plugin = plugin->name();
      out.error = msg.error().empty() ? fmt::format("plugin returned {}", static_cast<int>(result))
                                      : msg.error();
      log::error("plugin {} ({}) failed with {}: {}", plugin->name(), plugin->type_name(),
                 out.http_status, out.error);
      msg.clear_error();
      return out;
    }
    msg.clear_error();
  }
  return ChainOutcome{};
}

}  // namespace bbr
