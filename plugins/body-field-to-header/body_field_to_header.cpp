// body-field-to-header: sets a request header from one top-level body field,
// as the reference's plugin of the same name does (default chain: model ->
// X-Gateway-Model-Name). Built against the SDK headers only.
#include <bbr/plugin.hpp>

#include "common/go_value_format.hpp"
#include "common/header_name.hpp"
#include "common/parameters.hpp"

#include <string>

namespace {

constexpr const char* kParametersSchema = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "fieldName": {"type": "string", "minLength": 1,
                  "description": "Top-level request body field to read, e.g. model"},
    "headerName": {"type": "string", "minLength": 1,
                   "description": "Request header to set, e.g. X-Gateway-Model-Name"}
  },
  "required": ["fieldName", "headerName"]
})";

// The reference's metric names (pkg/bbr/metrics), label `field`.
constexpr std::string_view kFieldNotFoundMetric = "bbr_body_field_not_found_total";
constexpr std::string_view kFieldEmptyMetric = "bbr_body_field_empty_total";

class BodyFieldToHeader {
 public:
  explicit BodyFieldToHeader(const bbr::CreateContext& ctx) : plugin_(ctx.plugin) {
    const bbr_plugins::Parameters parsed(ctx.parameters_json);
    const bbr_plugins::ParameterObject parameters = parsed.root();
    field_name_ = parameters.required_string("fieldName");
    header_name_ = parameters.required_string("headerName");
    bbr_plugins::require_settable_header_name("headerName", header_name_);
    // The field is one top-level key, never a path: "a/b" is the key "a/b".
    pointer_ = bbr::pointer(field_name_);
  }

  bbr_result_t on_request(bbr::Message& msg) {
    bbr_status_t status = BBR_OK;
    auto value = bbr_plugins::go_format_value(msg, pointer_, &status);
    if (!value) {
      // A body that is not JSON never reaches the chain in the host; if it
      // does, there is no field to copy and nothing to count.
      if (status == BBR_NOT_FOUND || status == BBR_WRONG_TYPE) {
        plugin_.count(kFieldNotFoundMetric, "field", field_name_);
        if (plugin_.log_enabled(BBR_LOG_DEBUG))
          plugin_.log(BBR_LOG_DEBUG, "field '" + field_name_ + "' not found in request body, skipping");
      }
      return BBR_CONTINUE;
    }
    if (value->empty()) {
      plugin_.count(kFieldEmptyMetric, "field", field_name_);
      if (plugin_.log_enabled(BBR_LOG_DEBUG))
        plugin_.log(BBR_LOG_DEBUG, "field '" + field_name_ + "' is empty in request body, skipping");
      return BBR_CONTINUE;
    }
    bbr_status_t set = msg.set_header(header_name_, *value);
    if (set == BBR_INVALID_ARGUMENT) {
      return msg.fail(BBR_FAIL_BAD_REQUEST, "body field '" + field_name_ +
                                                "' cannot be a header value (it holds CR, LF or NUL)");
    }
    if (set != BBR_OK) {
      return msg.fail(BBR_FAIL_INTERNAL, "setting header '" + header_name_ + "' failed (status " +
                                             std::to_string(static_cast<int>(set)) + ")");
    }
    return BBR_CONTINUE;
  }

 private:
  bbr::PluginContext plugin_;
  std::string field_name_;
  std::string header_name_;
  std::string pointer_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<BodyFieldToHeader>(
    "body-field-to-header", "1.0.0",
    "Sets a request header from a top-level request body field (e.g. model -> X-Gateway-Model-Name)",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
