// body-fields-to-headers: several body fields (JSON Pointers, any depth) to
// several request headers in one instance. Values are printed as the
// reference's body-field-to-header prints them (Go's %v), so moving a field
// from one plugin to the other changes no header. Built against the SDK
// headers only.
#include <bbr/plugin.hpp>

#include "common/go_value_format.hpp"
#include "common/header_name.hpp"
#include "common/json_text.hpp"
#include "common/parameters.hpp"

#include <optional>
#include <string>
#include <vector>

namespace {

constexpr const char* kParametersSchema = R"schema({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "fields": {
      "type": "array", "minItems": 1,
      "items": {
        "type": "object",
        "additionalProperties": false,
        "properties": {
          "pointer": {"type": "string", "minLength": 1,
                      "description": "JSON Pointer into the request body, e.g. /metadata/tenant"},
          "header": {"type": "string", "minLength": 1, "description": "Request header to set"},
          "default": {"type": "string",
                      "description": "Value when the field is missing or empty; no header when left out"}
        },
        "required": ["pointer", "header"]
      }
    }
  },
  "required": ["fields"]
})schema";

// The reference's metric names, label `field` (here: the pointer).
constexpr std::string_view kFieldNotFoundMetric = "bbr_body_field_not_found_total";
constexpr std::string_view kFieldEmptyMetric = "bbr_body_field_empty_total";

struct Field {
  std::string pointer;
  std::string header;
  std::optional<std::string> fallback;
};

class BodyFieldsToHeaders {
 public:
  explicit BodyFieldsToHeaders(const bbr::CreateContext& ctx) : plugin_(ctx.plugin) {
    using bbr_plugins::ParameterError;
    using bbr_plugins::ParameterObject;
    const bbr_plugins::Parameters parsed(ctx.parameters_json);
    const ParameterObject parameters = parsed.root();
    const nlohmann::json* list = parameters.array("fields");
    if (list == nullptr || list->empty())
      throw ParameterError("fields: required, at least one {pointer, header}");
    for (std::size_t i = 0; i < list->size(); ++i) {
      ParameterObject item((*list)[i], parameters.element_path("fields", i));
      Field field{item.required_string("pointer"), item.required_string("header"),
                  item.string("default")};
      bbr_plugins::require_json_pointer(item.where("pointer"), field.pointer, false);
      bbr_plugins::require_settable_header_name(item.where("header").c_str(), field.header);
      if (field.fallback) {
        for (char c : *field.fallback) {
          if (c == '\r' || c == '\n' || c == '\0')
            throw ParameterError(item.where("default") + ": must not hold CR, LF or NUL");
        }
        if (field.fallback->empty())
          field.fallback.reset();  // "" sets nothing, as a missing default
      }
      for (const Field& earlier : fields_) {
        if (bbr_plugins::equals_ignoring_case(earlier.header, field.header))
          throw ParameterError(item.where("header") + ": \"" + field.header +
                               "\" is already set by an earlier field");
      }
      fields_.push_back(std::move(field));
    }
  }

  bbr_result_t on_request(bbr::Message& msg) {
    for (const Field& field : fields_) {
      bbr_status_t status = BBR_OK;
      std::optional<std::string> value = bbr_plugins::go_format_value(msg, field.pointer, &status);
      if (!value) {
        if (status == BBR_NOT_FOUND || status == BBR_WRONG_TYPE)
          plugin_.count(kFieldNotFoundMetric, "field", field.pointer);
      } else if (value->empty()) {
        plugin_.count(kFieldEmptyMetric, "field", field.pointer);
      }
      if (!value || value->empty()) {
        if (!field.fallback) continue;
        value = field.fallback;
      }
      bbr_status_t set = msg.set_header(field.header, *value);
      if (set == BBR_INVALID_ARGUMENT)
        return msg.fail(
            BBR_FAIL_BAD_REQUEST,
            "body field '" + field.pointer + "' cannot be a header value (it holds CR, LF or NUL)");
      if (set != BBR_OK)
        return msg.fail(BBR_FAIL_INTERNAL, "setting header '" + field.header + "' failed (status " +
                                               std::to_string(static_cast<int>(set)) + ")");
    }
    return BBR_CONTINUE;
  }

 private:
  bbr::PluginContext plugin_;
  std::vector<Field> fields_;
};

}  // namespace

BBR_EXPORT_PLUGINS(bbr::plugin_type<BodyFieldsToHeaders>(
    "body-fields-to-headers", "1.0.0",
    "Sets several request headers from several body fields (JSON Pointers), printed as "
    "body-field-to-header prints them",
    BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE, kParametersSchema))
