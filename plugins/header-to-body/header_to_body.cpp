// header-to-body: writes a request header's value into a body field (a JSON
// Pointer), as a string or, when configured, parsed as JSON. Objects on the
// way to the field are created when absent. Built against the SDK headers only.
#include <bbr/plugin.hpp>

#include "common/header_name.hpp"
#include "common/json_text.hpp"
#include "common/parameters.hpp"

#include <optional>
#include <string>

namespace {

constexpr const char* kParametersSchema = R"schema({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "header": {"type": "string", "minLength": 1, "description": "Request header to read"},
    "pointer": {"type": "string", "minLength": 1,
                "description": "JSON Pointer of the body field to write, e.g. /metadata/tenant"},
    "json": {"type": "boolean",
             "description": "Parse the value as JSON text instead of writing it as a string"},
    "default": {"type": "string",
                "description": "Value used when the header is missing; no change when left out"}
  },
  "required": ["header", "pointer"]
})schema";

class HeaderToBody {
 public:
  explicit HeaderToBody(const bbr::CreateContext& ctx) : plugin_(ctx.plugin) {
    using bbr_plugins::ParameterObject;
    const bbr_plugins::Parameters parsed(ctx.parameters_json);
    const ParameterObject parameters = parsed.root();
    header_ = parameters.required_string("header");
    pointer_ = parameters.required_string("pointer");
    as_json_ = parameters.boolean("json", false);
    fallback_ = parameters.string("default");
    // Any header may be read (x-envoy-* too), so only the token rule applies.
    std::string_view token =
        header_.front() == ':' ? std::string_view(header_).substr(1) : std::string_view(header_);
    bool valid = !token.empty();
    for (char c : token) valid = valid && bbr_plugins::is_tchar(c);
    if (!valid)
      throw bbr_plugins::ParameterError("header: \"" + header_ +
                                        "\" is not a valid HTTP header name");
    bbr_plugins::require_json_pointer("pointer", pointer_, false);
    if (as_json_ && fallback_) {
      // A default that is not JSON would fail every request without the header.
      if (!nlohmann::json::accept(*fallback_))
        throw bbr_plugins::ParameterError("default: with json: true it must be JSON text, got " +
                                          *fallback_);
    }
    parents_ = bbr_plugins::json_pointer_parents(pointer_);
  }

  bbr_result_t on_request(bbr::Message& msg) {
    std::string value;
    if (auto header = msg.header(header_)) {
      value.assign(*header);
    } else if (fallback_) {
      value = *fallback_;
    } else {
      return BBR_CONTINUE;
    }
    // Create the objects on the way (json_set needs the parent to exist).
    for (const std::string& parent : parents_) {
      bbr::JsonValue existing;
      bbr_status_t status = msg.json(parent, existing);
      if (status == BBR_NOT_JSON) return BBR_CONTINUE;  // nothing to write into
      if (status == BBR_OK) continue;
      if (status != BBR_NOT_FOUND || msg.json_set(parent, "{}") != BBR_OK)
        return msg.fail(BBR_FAIL_BAD_REQUEST, "cannot write header '" + header_ + "' to " +
                                                  pointer_ + ": " + parent +
                                                  " is not an object the field can go into");
    }
    bbr_status_t set =
        as_json_ ? msg.json_set(pointer_, value) : msg.json_set_string(pointer_, value);
    if (!as_json_ && set == BBR_UNSUPPORTED)  // a 1.0 host: the quoted text
      set = msg.json_set(pointer_, bbr::json_quote(value));
    if (set == BBR_OK) return BBR_CONTINUE;
    if (set == BBR_NOT_JSON) return BBR_CONTINUE;
    if (set == BBR_INVALID_ARGUMENT && as_json_)
      return msg.fail(BBR_FAIL_BAD_REQUEST, "header '" + header_ + "' is not valid JSON text");
    if (set == BBR_INVALID_ARGUMENT)
      return msg.fail(BBR_FAIL_BAD_REQUEST, "header '" + header_ + "' is not valid UTF-8");
    if (set == BBR_WRONG_TYPE || set == BBR_NOT_FOUND)
      return msg.fail(BBR_FAIL_BAD_REQUEST, "cannot write header '" + header_ + "' to " + pointer_ +
                                                ": a value on the way is not an object");
    return msg.fail(BBR_FAIL_BAD_REQUEST, "cannot write header '" + header_ + "' to " + pointer_ +
                                              " (status " + std::to_string(set) + ")");
  }

 private:
  bbr::PluginContext plugin_;
  std::string header_;
  std::string pointer_;
  bool as_json_ = false;
  std::optional<std::string> fallback_;
  std::vector<std::string> parents_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<HeaderToBody>(
    "header-to-body", "1.0.0",
    "Writes a request header's value into a body field (JSON Pointer), as a string or as JSON",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
