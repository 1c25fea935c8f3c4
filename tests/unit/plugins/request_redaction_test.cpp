// The guardrail's request detectors: on their own (request_redaction.hpp:
// the built-in patterns, their checks, the one-pass search) and through the
// real guardrail .so in the test kit (the prompt's strings edited in place,
// a counter per detector, refusal).
#include "request_harness.hpp"

#include "guardrail/guardrail_rules.hpp"

#include <nlohmann/json.hpp>

using Catch::Matchers::Contains;
using plugin_test::load_error;
using plugin_test::run_one;

namespace {

const char* kAllBuiltIns =
    R"({"requestDetectors":[{"detector":"api-key"},{"detector":"email"},{"detector":"iban"},)"
    R"({"detector":"card"},{"detector":"phone"}]})";

std::string redacted(const std::string& params, std::string_view text) {
  const guardrail::Config config = guardrail::parse_config(params);
  const auto& d = config.request_detectors;
  return guardrail::redact_findings(text, d.find(text), d.detectors());
}

std::string all(std::string_view text) { return redacted(kAllBuiltIns, text); }

std::string chat(const std::string& content) {
  return R"({"model":"m","messages":[{"role":"user","content":)" + nlohmann::json(content).dump() +
         "}]}";
}

}  // namespace

TEST_CASE("request detectors: each built-in kind is replaced by its placeholder",
          "[guardrail][redaction]") {
  CHECK(all("mail jane.doe+x@mail.example.co.uk now") == "mail [REDACTED_EMAIL] now");
  CHECK(all("call +1 415 555 0100 or (415) 555-0100.") ==
        "call [REDACTED_PHONE] or [REDACTED_PHONE].");
  CHECK(all("card 4111 1111 1111 1111 exp 2027") == "card [REDACTED_CARD] exp 2027");
  CHECK(all("card 4111111111111111.") == "card [REDACTED_CARD].");
  CHECK(all("amex 3782 822463 10005") == "amex [REDACTED_CARD]");
  CHECK(all("pay DE89 3704 0044 0532 0130 00 today") == "pay [REDACTED_IBAN] today");
  CHECK(all("pay GB82WEST12345698765432") == "pay [REDACTED_IBAN]");
  CHECK(all("k=sk-proj-abc123def456ghi789jkl012") == "k=[REDACTED_API_KEY]");
  CHECK(all("k=sk-ant-api03-Zx81kQ0aBcDeFgHiJkLmNoPq") == "k=[REDACTED_API_KEY]");
  CHECK(all("AKIAIOSFODNN7EXAMPLE") == "[REDACTED_API_KEY]");
  CHECK(all("ghp_0123456789abcdefghijABCDEFGHIJ012345") == "[REDACTED_API_KEY]");
  CHECK(all("AIzaSyA1234567890abcdefghijklmnopqrstuv") == "[REDACTED_API_KEY]");
  CHECK(all("xoxb-1234567890-abcdefghij") == "[REDACTED_API_KEY]");
}

TEST_CASE("request detectors: look-alikes that fail the check stay", "[guardrail][redaction]") {
  // Luhn fails, mod 97 fails, too few digits for a phone, no digit in a slug.
  CHECK(all("order 4111 1111 1111 1112") == "order 4111 1111 1111 1112");
  CHECK(all("ref DE89 3704 0044 0532 0130 01") == "ref DE89 3704 0044 0532 0130 01");
  CHECK(all("We paid 1200 yen at 7:30 on 2024-05-01, order #48213.") ==
        "We paid 1200 yen at 7:30 on 2024-05-01, order #48213.");
  CHECK(all("see sk-learn-compatible-estimators-guide") ==
        "see sk-learn-compatible-estimators-guide");
  // An IBAN followed by an upper-case word the pattern took as one more group.
  CHECK(all("BE68 5390 0754 7034 THEN") == "[REDACTED_IBAN] THEN");
}

TEST_CASE("request detectors: the checks on their own", "[guardrail][redaction]") {
  CHECK(guardrail::luhn_valid("4111-1111-1111-1111"));
  CHECK_FALSE(guardrail::luhn_valid("4111111111111112"));
  CHECK_FALSE(guardrail::luhn_valid("0000"));  // too short for a card
  CHECK(guardrail::iban_valid("GB82 WEST 1234 5698 7654 32"));
  CHECK_FALSE(guardrail::iban_valid("GB82 WEST 1234 5698 7654 33"));
  CHECK(guardrail::placeholder_for("employee-id") == "[REDACTED_EMPLOYEE_ID]");
}

TEST_CASE("request detectors: custom patterns, placeholders, and priority by order",
          "[guardrail][redaction]") {
  const std::string params =
      R"j({"requestDetectors":[{"name":"employee-id","pattern":"EMP-(\\d{6})"},)j"
      R"({"name":"ticket","pattern":"tkt-[a-z]+","caseInsensitive":true,"placeholder":"<ticket>"},)"
      R"({"detector":"email"}]})";
  CHECK(redacted(params, "EMP-123456 filed TKT-abc for a@b.io") ==
        "[REDACTED_EMPLOYEE_ID] filed <ticket> for [REDACTED_EMAIL]");
  // Two detectors matching at the same place: the one listed first wins.
  const std::string first = R"({"requestDetectors":[{"name":"x","pattern":"ab+"},)"
                            R"({"name":"y","pattern":"abb"}]})";
  CHECK(redacted(first, "abbb") == "[REDACTED_X]");
}

TEST_CASE("request detectors: a pattern that is not RE2 or matches nothing is refused at create",
          "[guardrail][redaction]") {
  CHECK_THAT(load_error("guardrail", R"({"requestDetectors":[{"name":"x","pattern":"a("}]})"),
             Contains("requestDetectors[0].pattern: invalid regular expression"));
  CHECK_THAT(load_error("guardrail", R"({"requestDetectors":[{"name":"x","pattern":"a*"}]})"),
             Contains("requestDetectors[0].pattern: matches the empty string"));
  // The schema: a built-in or a named pattern, never both; known words only.
  CHECK_THAT(load_error("guardrail", R"({"requestDetectors":[{"detector":"ssn"}]})"),
             Contains("requestDetectors[0]"));
  CHECK_THAT(load_error("guardrail", R"({"requestDetectors":[{"detector":"email","pattern":"x"}]})"),
             Contains("requestDetectors[0]"));
  CHECK_THAT(load_error("guardrail", R"({"requestDetectors":[{"pattern":"x"}]})"),
             Contains("requestDetectors[0]"));
  CHECK_THAT(load_error("guardrail", R"({"requestDetectors":[{"detector":"email","action":"drop"}]})"),
             Contains("requestDetectors[0]"));
}

TEST_CASE("guardrail redacts an email in the prompt in place and counts it per detector",
          "[guardrail][redaction]") {
  bbr::testkit::Chain chain({plugin_test::load("guardrail", kAllBuiltIns)});
  const std::string body =
      R"({"model":"m","messages":[{"role":"system","content":"Be brief."},)"
      R"({"role":"user","content":[{"type":"text","text":"Mail jane@example.com or call +44 20 7946 0958"},)"
      R"({"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}],"user":"jane@example.com"})";
  auto result = chain.request({}, body);
  REQUIRE_FALSE(result.rejected());
  CHECK(result.body_changed());
  auto sent = nlohmann::json::parse(result.body());
  auto original = nlohmann::json::parse(body);
  CHECK(sent["messages"][1]["content"][0]["text"] == "Mail [REDACTED_EMAIL] or call [REDACTED_PHONE]");
  // Only prompt strings are edited: everything else is as sent.
  original["messages"][1]["content"][0]["text"] = "Mail [REDACTED_EMAIL] or call [REDACTED_PHONE]";
  CHECK(sent == original);
  CHECK(result.counter("bbr_guardrail_redactions_total", "email") == 1);
  CHECK(result.counter("bbr_guardrail_redactions_total", "phone") == 1);
  CHECK(result.counter("bbr_guardrail_redactions_total", "card") == 0);

  auto clean = chain.request({}, chat("nothing personal here"));
  CHECK_FALSE(clean.body_changed());
  CHECK(clean.counter("bbr_guardrail_redactions_total") == 0);
}

TEST_CASE("guardrail redacts completions prompts, Responses input and Anthropic system text",
          "[guardrail][redaction]") {
  const std::string params = R"({"requestDetectors":[{"detector":"email"}]})";
  auto completions = run_one("guardrail", params, R"({"model":"m","prompt":["a@b.io","x"]})", {},
                             "/v1/completions");
  CHECK(nlohmann::json::parse(completions.body)["prompt"][0] == "[REDACTED_EMAIL]");
  auto responses = run_one(
      "guardrail", params,
      R"({"model":"m","instructions":"reply to a@b.io","input":[{"role":"user","content":"c@d.io"}]})",
      {}, "/v1/responses");
  auto r = nlohmann::json::parse(responses.body);
  CHECK(r["instructions"] == "reply to [REDACTED_EMAIL]");
  CHECK(r["input"][0]["content"] == "[REDACTED_EMAIL]");
  auto anthropic = run_one("guardrail", params,
                           R"({"model":"m","system":"owner a@b.io","messages":[]})", {},
                           "/v1/messages");
  CHECK(nlohmann::json::parse(anthropic.body)["system"] == "owner [REDACTED_EMAIL]");
}

TEST_CASE("guardrail refuses a prompt matching a detector whose action is refuse",
          "[guardrail][redaction]") {
  bbr::testkit::Chain chain({plugin_test::load(
      "guardrail",
      R"({"requestDetectors":[{"detector":"email"},{"detector":"api-key","action":"refuse"}]})")});
  auto result = chain.request({}, chat("a@b.io and AKIAIOSFODNN7EXAMPLE"));
  CHECK(result.rejected());
  CHECK(result.status() == 403);
  CHECK_THAT(result.rejection_body(), Contains("content_policy_violation"));
  CHECK(result.counter("bbr_guardrail_matches_total", "prompt_detector") == 1);
  CHECK(result.counter("bbr_guardrail_redactions_total") == 0);
}

TEST_CASE("guardrail: deny patterns are checked before redaction", "[guardrail][redaction]") {
  auto run = run_one("guardrail",
                     R"({"denyPatterns":["secret plan"],"requestDetectors":[{"detector":"email"}]})",
                     chat("the secret plan for a@b.io"));
  CHECK(run.rejected);
  CHECK(run.status == 403);
}
