#include "config/config.hpp"

#include "config/spelling.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace bbr {

namespace {

// Control characters (a NUL in a key, say) would cut or garble a terminal line
// and what(): show them escaped, the way the operator would write them.
std::vector<std::string> printable(std::vector<std::string> lines) {
  for (auto& line : lines) {
    if (std::none_of(line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      continue;
    std::string escaped;
    for (char c : line) {
      if (static_cast<unsigned char>(c) < 0x20) {
        escaped += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      } else {
        escaped += c;
      }
    }
    line = std::move(escaped);
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) text += '\n';
    text += lines[i];
  }
  return text;
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(join_lines(printable(problems))), problems_(printable(std::move(problems))) {}

namespace {

// Ordered, so parameters keep the order the operator wrote them in.
using Json = nlohmann::ordered_json;

// Nesting beyond this is not a configuration anyone writes; refusing it keeps
// the recursive conversion far from the stack limit.
constexpr int kMaxDepth = 64;
// Nor is a configuration of more values than this. YAML aliases can repeat a
// node exponentially ("billion laughs"); the budget stops the expansion.
constexpr std::size_t kMaxValues = 100000;

class Problems {
 public:
  void add(const std::string& path, const std::string& message) {
    lines_.push_back(path.empty() ? message : path + ": " + message);
  }
  bool empty() const { return lines_.empty(); }
  [[noreturn]] void raise() { throw ConfigError(std::move(lines_)); }
  void raise_if_any() {
    if (!lines_.empty()) raise();
  }

 private:
  std::vector<std::string> lines_;
};

std::string member_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string index_path(const std::string& parent, size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

// What a value is, in the words of a YAML author.
std::string describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "a mapping";
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

bool ends_with_ignoring_case(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), text.end() - suffix.size(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

// --- YAML to JSON ------------------------------------------------------------

// YAML 1.2 core schema resolution of an unquoted scalar: null, booleans,
// integers (decimal, 0o octal, 0x hex), floats; anything else is a string.
// (yes/no/on/off stay strings: that is YAML 1.2, and what a JSON reader expects.)
Json resolve_plain_scalar(const std::string& text, const std::string& path, Problems& problems) {
  static const std::set<std::string> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string> kTrue = {"true", "True", "TRUE"};
  static const std::set<std::string> kFalse = {"false", "False", "FALSE"};
  if (kNull.count(text)) return nullptr;
  if (kTrue.count(text)) return true;
  if (kFalse.count(text)) return false;

  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex kInfinity(R"([-+]?\.(inf|Inf|INF))");
  static const std::regex kNan(R"(\.(nan|NaN|NAN))");

  auto parse_unsigned = [&](std::string_view digits, int base) -> Json {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (error != std::errc() || end != digits.data() + digits.size()) {
      problems.add(path, fmt::format("integer {} is too large", text));
      return nullptr;
    }
    return value;
  };

  if (std::regex_match(text, kDecimal)) {
    int64_t value = 0;
    std::string_view digits = text;
    if (digits.front() == '+') digits.remove_prefix(1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error == std::errc() && end == digits.data() + digits.size()) return value;
    if (digits.front() != '-') return parse_unsigned(digits, 10);
    problems.add(path, fmt::format("integer {} is too small", text));
    return nullptr;
  }
  if (std::regex_match(text, kOctal)) return parse_unsigned(std::string_view(text).substr(2), 8);
  if (std::regex_match(text, kHex)) return parse_unsigned(std::string_view(text).substr(2), 16);
  if (std::regex_match(text, kFloat)) {
    errno = 0;
    double value = std::strtod(text.c_str(), nullptr);
    if (errno == ERANGE && std::isinf(value)) {
      problems.add(path, fmt::format("number {} is out of range", text));
      return nullptr;
    }
    return value;
  }
  if (std::regex_match(text, kInfinity) || std::regex_match(text, kNan)) {
    problems.add(path, fmt::format("{} cannot be represented in JSON; quote it to pass a string", text));
    return nullptr;
  }
  return text;
}

Json yaml_to_json(const YAML::Node& node, const std::string& path, Problems& problems, int depth,
                  std::size_t& values_left) {
  if (values_left == 0) return nullptr;  // already reported
  if (--values_left == 0) {
    problems.add(path, fmt::format("more than {} values (aliases expanding?)", kMaxValues));
    return nullptr;
  }
  if (depth > kMaxDepth) {
    problems.add(path, fmt::format("nested deeper than {} levels", kMaxDepth));
    return nullptr;
  }
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      // yaml-cpp tags every quoted or block scalar "!": those are strings.
      const std::string& tag = node.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return node.Scalar();
      return resolve_plain_scalar(node.Scalar(), path, problems);
    }
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      size_t index = 0;
      for (const auto& element : node) {
        array.push_back(yaml_to_json(element, index_path(path, index), problems, depth + 1, values_left));
        ++index;
      }
      return array;
    }
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          problems.add(path, "a mapping key must be a plain value, not a list or mapping");
          continue;
        }
        const std::string key = entry.first.Scalar();
        const std::string child = member_path(path, key);
        if (object.contains(key)) {
          problems.add(child, "duplicate key");
          continue;
        }
        object[key] = yaml_to_json(entry.second, child, problems, depth + 1, values_left);
      }
      return object;
    }
  }
  return nullptr;
}

Json parse_yaml_document(std::string_view text, Problems& problems) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& error) {
    if (error.mark.is_null()) {
      problems.add("", fmt::format("YAML syntax error: {}", error.msg));
    } else {
      problems.add("", fmt::format("line {}, column {}: YAML syntax error: {}", error.mark.line + 1,
                                   error.mark.column + 1, error.msg));
    }
    problems.raise();
  }
  if (documents.size() > 1) {
    problems.add("", fmt::format("holds {} YAML documents; a configuration is exactly one",
                                 documents.size()));
    problems.raise();
  }
  if (documents.empty()) return nullptr;
  std::size_t values_left = kMaxValues;
  Json root = yaml_to_json(documents.front(), "", problems, 0, values_left);
  problems.raise_if_any();
  return root;
}

// nlohmann's message is "[json.exception.parse_error.101] parse error at line
// 2, column 5: syntax error ..."; keep "line 2, column 5: ..." only.
std::string json_syntax_message(const std::string& what) {
  std::string message = what;
  if (auto bracket = message.find("] "); message.rfind("[json.exception", 0) == 0 &&
                                         bracket != std::string::npos) {
    message.erase(0, bracket + 2);
  }
  static const std::string kPrefix = "parse error at ";
  if (message.rfind(kPrefix, 0) == 0) message.erase(0, kPrefix.size());
  if (auto colon = message.find(": "); message.rfind("line ", 0) == 0 && colon != std::string::npos) {
    return message.substr(0, colon) + ": JSON syntax error: " + message.substr(colon + 2);
  }
  return "JSON syntax error: " + message;
}

Json parse_json_document(std::string_view text, Problems& problems) {
  // The parser keeps the last of two equal keys; a configuration mistake worth
  // naming, so watch the keys of each object as they go by.
  std::vector<std::set<std::string>> open_objects;
  auto watch_keys = [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open_objects.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == Json::parse_event_t::key && !open_objects.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) {
        problems.add("", fmt::format("duplicate key \"{}\" in a JSON object", key));
      }
    }
    return true;
  };
  Json root;
  try {
    root = Json::parse(text.begin(), text.end(), watch_keys);
  } catch (const Json::parse_error& error) {
    problems.add("", json_syntax_message(error.what()));
    problems.raise();
  }
  problems.raise_if_any();
  return root;
}

// --- the configuration schema --------------------------------------------------

const std::vector<std::string> kTopLevelFields = {"apiVersion", "kind",    "pluginDirs",
                                                  "plugins",    "request", "response"};
const std::vector<std::string> kPluginFields = {"type", "name", "parameters", "failurePolicy",
                                                "timeout"};
const std::vector<std::string> kRefFields = {"pluginRef"};

bool valid_instance_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

void check_unknown_fields(const Json& object, const std::string& path,
                          const std::vector<std::string>& allowed, Problems& problems) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      problems.add(member_path(path, key), unknown_field_message(key, allowed));
    }
  }
}

void check_constant(const Json& root, const std::string& field, std::string_view expected,
                    Problems& problems) {
  if (!root.contains(field)) {
    problems.add(field, fmt::format("required, must be {}", expected));
    return;
  }
  const Json& value = root[field];
  if (!value.is_string()) {
    problems.add(field, fmt::format("must be {} (got {})", expected, describe(value)));
  } else if (value.get_ref<const std::string&>() != expected) {
    problems.add(field, fmt::format("must be {} (got \"{}\")", expected,
                                    value.get_ref<const std::string&>()));
  }
}

// A required, non-empty string field of a mapping; nullopt (and a problem) otherwise.
std::optional<std::string> required_string(const Json& object, const std::string& path,
                                           const std::string& field, Problems& problems) {
  const std::string field_path = member_path(path, field);
  if (!object.contains(field)) {
    problems.add(field_path, "required");
    return std::nullopt;
  }
  const Json& value = object[field];
  if (!value.is_string()) {
    problems.add(field_path, fmt::format("must be a string (got {})", describe(value)));
    return std::nullopt;
  }
  const auto& text = value.get_ref<const std::string&>();
  if (text.empty()) {
    problems.add(field_path, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::vector<std::string> parse_plugin_dirs(const Json& root, Problems& problems) {
  std::vector<std::string> dirs;
  if (!root.contains("pluginDirs")) return dirs;
  const Json& value = root["pluginDirs"];
  if (!value.is_array()) {
    problems.add("pluginDirs", fmt::format("must be a list of directories (got {})", describe(value)));
    return dirs;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = index_path("pluginDirs", i);
    if (!value[i].is_string()) {
      problems.add(path, fmt::format("must be a string (got {})", describe(value[i])));
    } else if (value[i].get_ref<const std::string&>().empty()) {
      problems.add(path, "must not be empty");
    } else {
      dirs.push_back(value[i].get<std::string>());
    }
  }
  return dirs;
}

// A plugin instance's name: the characters the reference allows, and unique
// in the file (`first_origin_of_name` remembers where each name was first given).
bool check_instance_name(const std::string& name, const std::string& origin,
                         std::map<std::string, std::string>& first_origin_of_name,
                         Problems& problems) {
  if (!valid_instance_name(name)) {
    problems.add(origin + ".name",
                 fmt::format("must contain only letters, digits, '.', '_' and '-' (got \"{}\")", name));
    return false;
  }
  if (auto [it, inserted] = first_origin_of_name.emplace(name, origin); !inserted) {
    problems.add(origin + ".name", fmt::format("duplicate of {}.name \"{}\"", it->second, name));
    return false;
  }
  return true;
}

// An instance's failurePolicy and timeout, when given, into `policy`; false
// when either is wrong (each problem is added).
bool parse_plugin_policy(const Json& item, const std::string& origin, PluginPolicy& policy,
                         Problems& problems) {
  bool ok = true;
  if (item.contains("failurePolicy")) {
    const Json& failure = item["failurePolicy"];
    const std::string path = origin + ".failurePolicy";
    if (failure.is_string() && failure.get_ref<const std::string&>() == "FailClose") {
      policy.failure = FailurePolicy::kFailClose;
    } else if (failure.is_string() && failure.get_ref<const std::string&>() == "FailOpen") {
      policy.failure = FailurePolicy::kFailOpen;
    } else {
      problems.add(path,
                   fmt::format("must be FailClose or FailOpen (got {})",
                               failure.is_string()
                                   ? fmt::format("\"{}\"", failure.get_ref<const std::string&>())
                                   : describe(failure)));
      ok = false;
    }
  }
  if (item.contains("timeout")) {
    const Json& timeout = item["timeout"];
    const std::string path = origin + ".timeout";
    if (!timeout.is_string()) {
      problems.add(path, fmt::format("must be a duration such as \"50ms\" or \"2s\" (got {})",
                                     describe(timeout)));
      ok = false;
    } else {
      std::string problem;
      if (auto parsed = parse_plugin_timeout(timeout.get_ref<const std::string&>(), problem)) {
        policy.timeout = *parsed;
      } else {
        problems.add(path, problem);
        ok = false;
      }
    }
  }
  return ok;
}

std::vector<PluginSpec> parse_plugins(const Json& root, Problems& problems) {
  std::vector<PluginSpec> plugins;
  if (!root.contains("plugins")) {
    problems.add("plugins", "required (a list of plugin instances)");
    return plugins;
  }
  const Json& list = root["plugins"];
  if (!list.is_array()) {
    problems.add("plugins", fmt::format("must be a list (got {})", describe(list)));
    return plugins;
  }
  std::map<std::string, std::string> first_origin_of_name;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string origin = index_path("plugins", i);
    const Json& item = list[i];
    if (!item.is_object()) {
      problems.add(origin, fmt::format("must be a mapping with type, name and parameters (got {})",
                                       describe(item)));
      continue;
    }
    check_unknown_fields(item, origin, kPluginFields, problems);
    PluginSpec spec;
    spec.origin = origin;
    auto type = required_string(item, origin, "type", problems);
    auto name = required_string(item, origin, "name", problems);
    bool complete = type.has_value() && name.has_value();
    if (name && !check_instance_name(*name, origin, first_origin_of_name, problems)) {
      complete = false;
    }
    if (item.contains("parameters")) {
      const Json& parameters = item["parameters"];
      if (parameters.is_object()) {
        spec.parameters = parameters;
      } else if (!parameters.is_null()) {
        problems.add(origin + ".parameters",
                     fmt::format("must be a mapping (got {})", describe(parameters)));
        complete = false;
      }
    }
    if (!parse_plugin_policy(item, origin, spec.policy, problems)) complete = false;
    if (complete) {
      spec.type = *type;
      spec.name = *name;
      plugins.push_back(std::move(spec));
    }
  }
  return plugins;
}

// `request:` / `response:`: a list of {pluginRef: <name>}.
std::vector<std::string> parse_references(const Json& list, const std::string& field,
                                          const std::vector<PluginSpec>& plugins,
                                          const std::set<std::string>& known_names,
                                          Problems& problems) {
  std::vector<std::string> names;
  if (!list.is_array()) {
    problems.add(field, fmt::format("must be a list of {{pluginRef: <name>}} (got {})", describe(list)));
    return names;
  }
  std::map<std::string, std::string> first_reference;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = index_path(field, i);
    const Json& item = list[i];
    if (!item.is_object()) {
      problems.add(path, fmt::format("must be a mapping {{pluginRef: <name>}} (got {})", describe(item)));
      continue;
    }
    check_unknown_fields(item, path, kRefFields, problems);
    auto name = required_string(item, path, "pluginRef", problems);
    if (!name) continue;
    if (!known_names.count(*name)) {
      std::string defined;
      for (const auto& plugin : plugins) defined += (defined.empty() ? "" : ", ") + plugin.name;
      if (defined.empty()) defined = "none";
      problems.add(path + ".pluginRef",
                   fmt::format("unknown plugin \"{}\" (defined: {})", *name, defined));
      continue;
    }
    if (auto [it, inserted] = first_reference.emplace(*name, path); !inserted) {
      problems.add(path + ".pluginRef",
                   fmt::format("\"{}\" is already listed at {}; a plugin runs once per chain", *name,
                               it->second));
      continue;
    }
    names.push_back(*name);
  }
  return names;
}

ChainConfig validate(const Json& root, std::string_view source_name, Problems& problems) {
  if (!root.is_object()) {
    problems.add("(root)", fmt::format("must be a mapping with apiVersion, kind and plugins (got {})",
                                       root.is_null() ? std::string("an empty document") : describe(root)));
    problems.raise();
  }
  ChainConfig config;
  config.source = std::string(source_name);
  check_unknown_fields(root, "", kTopLevelFields, problems);
  check_constant(root, "apiVersion", kConfigApiVersion, problems);
  check_constant(root, "kind", kConfigKind, problems);
  config.plugin_dirs = parse_plugin_dirs(root, problems);
  config.plugins = parse_plugins(root, problems);

  std::set<std::string> known_names;
  // Names that failed their own checks are still "known" here, so one mistake
  // is reported once and not again at every reference to it.
  if (root.contains("plugins") && root["plugins"].is_array()) {
    for (const auto& item : root["plugins"]) {
      if (item.is_object() && item.contains("name") && item["name"].is_string()) {
        known_names.insert(item["name"].get<std::string>());
      }
    }
  }
  if (root.contains("request")) {
    config.request = parse_references(root["request"], "request", config.plugins, known_names, problems);
  } else {
    for (const auto& plugin : config.plugins) config.request.push_back(plugin.name);
    config.request_by_capability = true;
  }
  if (root.contains("response")) {
    config.response = parse_references(root["response"], "response", config.plugins, known_names, problems);
  }
  problems.raise_if_any();
  return config;
}

// Go's strings.TrimSpace, for the ASCII whitespace a shell can pass.
std::string_view trim(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

ChainConfig parse_config(std::string_view text, std::string_view source_name) {
  Problems problems;
  Json root = ends_with_ignoring_case(source_name, ".json") ? parse_json_document(text, problems)
                                                            : parse_yaml_document(text, problems);
  return validate(root, source_name, problems);
}

ChainConfig load_config_file(const std::filesystem::path& file) {
  std::error_code ignored;
  if (std::filesystem::is_directory(file, ignored)) {
    throw ConfigError({fmt::format("{}: is a directory, not a configuration file", file.string())});
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ConfigError({fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno))});
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError({fmt::format("{}: read failed", file.string())});
  return parse_config(text.str(), file.string());
}

std::optional<std::chrono::nanoseconds> parse_plugin_timeout(std::string_view text,
                                                             std::string& problem) {
  const std::string quoted = fmt::format("\"{}\"", text);
  if (text.empty()) {
    problem = "must not be empty (write e.g. \"50ms\" or \"2s\")";
    return std::nullopt;
  }
  // Go's time.ParseDuration units; each number may carry a fraction.
  static const std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1.0}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
      {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  constexpr double kMaxNanoseconds = 3600e9;  // an hour: beyond it, no request waits anyway
  double total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t digits = 0;
    bool seen_digit = false;
    while (digits < rest.size() &&
           (std::isdigit(static_cast<unsigned char>(rest[digits])) || rest[digits] == '.')) {
      seen_digit = seen_digit || rest[digits] != '.';
      ++digits;
    }
    if (!seen_digit) {
      problem = fmt::format("{} is not a duration (write e.g. \"50ms\" or \"2s\")", quoted);
      return std::nullopt;
    }
    const std::string number(rest.substr(0, digits));
    char* end = nullptr;
    const double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) {
      problem = fmt::format("{} is not a duration (write e.g. \"50ms\" or \"2s\")", quoted);
      return std::nullopt;
    }
    rest.remove_prefix(digits);
    size_t unit_length = 0;
    while (unit_length < rest.size() &&
           !std::isdigit(static_cast<unsigned char>(rest[unit_length])) &&
           rest[unit_length] != '.') {
      ++unit_length;
    }
    const std::string_view unit = rest.substr(0, unit_length);
    if (unit.empty()) {
      problem = fmt::format(
          "{} has no unit (write e.g. \"50ms\" or \"2s\"; units: ns, us, ms, s, m, h)", quoted);
      return std::nullopt;
    }
    const auto* found = std::find_if(std::begin(kUnits), std::end(kUnits),
                                     [&](const auto& known) { return known.first == unit; });
    if (found == std::end(kUnits)) {
      problem =
          fmt::format("{} has an unknown unit \"{}\" (units: ns, us, ms, s, m, h)", quoted, unit);
      return std::nullopt;
    }
    total += value * found->second;
    rest.remove_prefix(unit_length);
  }
  if (total > kMaxNanoseconds) {
    problem = fmt::format("{} is longer than the most allowed, 1h", quoted);
    return std::nullopt;
  }
  const auto nanoseconds = static_cast<int64_t>(std::llround(total));
  if (nanoseconds <= 0) {
    problem =
        fmt::format("{} must be more than zero (leave timeout out for no time budget)", quoted);
    return std::nullopt;
  }
  return std::chrono::nanoseconds(nanoseconds);
}

PluginSpec parse_plugin_flag(std::string_view value) {
  // The reference splits on ':' into at most three parts: the JSON keeps its colons.
  const size_t first = value.find(':');
  if (first == std::string_view::npos) throw ConfigError({"usage: --plugin <type>:<name>:<json>"});
  const size_t second = value.find(':', first + 1);
  PluginSpec spec;
  spec.type = std::string(trim(value.substr(0, first)));
  spec.name = std::string(trim(value.substr(first + 1, second == std::string_view::npos
                                                            ? std::string_view::npos
                                                            : second - first - 1)));
  if (spec.type.empty()) throw ConfigError({"bbr plugin type cannot be empty"});
  if (spec.name.empty()) throw ConfigError({"bbr plugin name cannot be empty"});
  if (second != std::string_view::npos) {
    std::string_view json = trim(value.substr(second + 1));
    // As the reference: any JSON value passes here; the parameter check wants an object.
    if (!json.empty()) {
      spec.parameters = Json::parse(json, nullptr, /*allow_exceptions=*/false);
      if (spec.parameters.is_discarded()) throw ConfigError({"invalid json"});
    }
  }
  return spec;
}

ChainConfig config_from_plugin_flags(const std::vector<std::string>& values) {
  ChainConfig config;
  config.source = "--plugin flags";
  std::vector<std::string> problems;
  for (size_t i = 0; i < values.size(); ++i) {
    try {
      PluginSpec spec = parse_plugin_flag(values[i]);
      spec.origin = fmt::format("--plugin #{}", i + 1);
      config.request.push_back(spec.name);
      config.plugins.push_back(std::move(spec));
    } catch (const ConfigError& error) {
      // pflag's wording, so scripts that matched the reference still match.
      problems.push_back(fmt::format("invalid argument \"{}\" for \"--plugin\" flag: {}", values[i],
                                     error.what()));
    }
  }
  if (!problems.empty()) throw ConfigError(std::move(problems));
  // The reference puts each instance in every chain its type can serve.
  config.request_by_capability = true;
  config.response_by_capability = true;
  return config;
}

ChainConfig default_config() {
  ChainConfig config;
  config.source = "default chain";
  config.plugins.push_back(
      PluginSpec{"body-field-to-header",
                 "body-field-to-header",
                 Json{{"fieldName", "model"}, {"headerName", "X-Gateway-Model-Name"}},
                 "default chain #1",
                 {}});
  config.plugins.push_back(PluginSpec{"base-model-to-header",
                                      "base-model-to-header",
                                      Json{{"adaptersDir", kDefaultAdaptersDir}},
                                      "default chain #2",
                                      {}});
  config.request = {"body-field-to-header", "base-model-to-header"};
  return config;
}

}  // namespace bbr
