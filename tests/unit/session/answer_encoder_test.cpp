// What a chain's outcomes become on the ext_proc wire (session/answer_encoder.hpp),
// and what Envoy's attributes and metadata become for the plugins
// (session/envoy_context.hpp).
#include "session/answer_encoder.hpp"
#include "session/envoy_context.hpp"

#include <catch2/catch.hpp>

#include <google/protobuf/struct.pb.h>

namespace ext_proc = envoy::service::ext_proc::v3;

namespace {

struct Fixture {
  bbr::RequestState state;
  bbr::Message msg{BBR_PHASE_REQUEST, {}, bbr::JsonBody("{}"), state};
};

}  // namespace

TEST_CASE(
    "Envoy's attributes are flattened by name and metadata kept by namespace and key, read "
    "as JSON text",
    "[answer_encoder][protobuf_map]") {
  ext_proc::ProcessingRequest request;
  auto& attributes = (*request.mutable_attributes())["envoy.filters.http.ext_proc"];
  (*attributes.mutable_fields())["request.id"].set_string_value("r1");
  (*attributes.mutable_fields())["request.size"].set_number_value(12);
  auto& jwt = (*request.mutable_metadata_context()->mutable_filter_metadata())["jwt"];
  (*(*jwt.mutable_fields())["claims"].mutable_struct_value()->mutable_fields())["sub"]
      .set_string_value("alice");
  bbr::EnvoyContext context;
  REQUIRE(bbr::absorb_envoy_context(request, context));
  CHECK(context.attributes.at("request.id").json() == "\"r1\"");
  CHECK(context.attributes.at("request.size").json() == "12");
  CHECK(context.metadata.at("jwt").at("claims").json() == R"({"sub":"alice"})");
  // A message without either adds nothing.
  CHECK_FALSE(bbr::absorb_envoy_context(ext_proc::ProcessingRequest(), context));
}

TEST_CASE("dynamic metadata becomes Struct{namespace: Struct{key: Value}}",
          "[answer_encoder][protobuf_map]") {
  Fixture f;
  ext_proc::ProcessingResponse none;
  bbr::encode_dynamic_metadata(f.msg, none);
  CHECK_FALSE(none.has_dynamic_metadata());
  f.msg.dynamic_metadata().push_back({"envoy.lb", "model", "\"m1\""});
  f.msg.dynamic_metadata().push_back({"envoy.lb", "weights", "[1,2]"});
  f.msg.dynamic_metadata().push_back({"other", "on", "true"});
  ext_proc::ProcessingResponse out;
  bbr::encode_dynamic_metadata(f.msg, out);
  const auto& spaces = out.dynamic_metadata().fields();
  REQUIRE(spaces.size() == 2);
  const auto& lb = spaces.at("envoy.lb").struct_value().fields();
  CHECK(lb.at("model").string_value() == "m1");
  CHECK(lb.at("weights").list_value().values_size() == 2);
  CHECK(spaces.at("other").struct_value().fields().at("on").bool_value());
}

TEST_CASE("route cache: DEFAULT and CLEAR clear it, KEEP keeps it", "[answer_encoder]") {
  for (bbr_route_cache_t choice :
       {BBR_ROUTE_CACHE_DEFAULT, BBR_ROUTE_CACHE_CLEAR, BBR_ROUTE_CACHE_KEEP}) {
    Fixture f;
    f.msg.choose_route_cache(choice);
    ext_proc::CommonResponse common;
    bbr::encode_route_cache(f.msg, &common);
    CHECK(common.clear_route_cache() == (choice != BBR_ROUTE_CACHE_KEEP));
  }
}

TEST_CASE(
    "an immediate answer carries the plugin's headers and details; its content-type "
    "replaces the guess",
    "[answer_encoder]") {
  bbr::ImmediateResponse plain{429, "{\"e\":1}", "why", {{"retry-after", "30"}}};
  ext_proc::ImmediateResponse guessed;
  bbr::encode_immediate_extras(plain, /*json_guess=*/true, &guessed);
  REQUIRE(guessed.headers().set_headers_size() == 2);
  CHECK(guessed.headers().set_headers(0).header().key() == "content-type");
  CHECK(guessed.headers().set_headers(0).header().raw_value() == "application/json");
  CHECK(guessed.headers().set_headers(1).header().key() == "retry-after");
  CHECK(guessed.details() == "why");

  bbr::ImmediateResponse typed{429, "{\"e\":1}", "", {{"Content-Type", "text/plain"}}};
  ext_proc::ImmediateResponse chosen;
  bbr::encode_immediate_extras(typed, /*json_guess=*/true, &chosen);
  REQUIRE(chosen.headers().set_headers_size() == 1);
  CHECK(chosen.headers().set_headers(0).header().raw_value() == "text/plain");
  CHECK(chosen.details().empty());
}
