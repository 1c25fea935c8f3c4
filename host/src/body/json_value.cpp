#include "body/json_value.hpp"

namespace bbr {

template <class AnyJson>
void read_value(const AnyJson& v, JsonRead& out) {
  out = JsonRead{};
  using T = typename AnyJson::value_t;
  switch (v.type()) {
    case T::null:
    case T::discarded:
    case T::binary:
      out.type = JsonType::kNull;
      break;
    case T::boolean:
      out.type = JsonType::kBool;
      out.boolean = v.template get<bool>();
      break;
    case T::number_integer:
      out.type = JsonType::kInteger;
      out.integer = v.template get<int64_t>();
      out.number = static_cast<double>(out.integer);
      break;
    case T::number_unsigned:
      if (v.template get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
        out.type = JsonType::kInteger;
        out.integer = static_cast<int64_t>(v.template get<uint64_t>());
      } else {
        out.type = JsonType::kNumber;
      }
      out.number = static_cast<double>(v.template get<uint64_t>());
      break;
    case T::number_float:
      out.type = JsonType::kNumber;
      out.number = v.template get<double>();
      break;
    case T::string:
      out.type = JsonType::kString;
      out.string = v.template get_ref<const std::string&>();
      break;
    case T::array:
      out.type = JsonType::kArray;
      out.size = v.size();
      break;
    case T::object:
      out.type = JsonType::kObject;
      out.size = v.size();
      break;
  }
}

template void read_value<Json>(const Json&, JsonRead&);
template void read_value<nlohmann::ordered_json>(const nlohmann::ordered_json&, JsonRead&);

}  // namespace bbr
