// A list of RE2 patterns asked, in one pass over a text, which of them match
// somewhere in it. RE2 is the definition of what matches; the engine only
// makes the question fast:
// - a pattern whose meaning can be written in Hyperscan's syntax
//   (translate_for_hyperscan: ASCII-only patterns, byte mode, RE2's anchors,
//   classes and case folding spelled out) is answered by one Hyperscan
//   database, when the build has Hyperscan and the CPU runs it; exactly, or
//   as a superset whose candidates the pattern's RE2 confirms;
// - every other pattern is answered by one RE2::Set (RE2's own automaton).
// Either way the answer is RE2's. Where a match lies is not answered here:
// ask the pattern's own RE2, and only for the patterns found.
#pragma once

#include <re2/re2.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardrail {

// A pattern in Hyperscan's syntax (byte mode), compiled caseless
// (HS_FLAG_CASELESS) or not; nullopt when its meaning could differ from
// RE2's. `relaxed`: the form matches a superset of what the pattern matches
// (word-boundary assertions left out), so what it reports is confirmed by
// RE2. Pure text work: defined whether or not Hyperscan is built in.
// `ascii_expression`: the same without the two non-ASCII characters RE2
// folds into k and s, exact on a text that holds neither.
struct HyperscanExpression {
  std::string expression;
  bool caseless = false;
  bool relaxed = false;
  std::string ascii_expression;
};
std::optional<HyperscanExpression> translate_for_hyperscan(const RE2& pattern);

class PatternSet {
 public:
  // kHyperscanConfirmed: Hyperscan finds candidates, the pattern's RE2 decides.
  enum class Engine { kHyperscan, kHyperscanConfirmed, kRe2Set };

  struct Options {
    bool use_hyperscan = true;  // false: every pattern on the RE2::Set (tests compare the two)
  };

  PatternSet();
  // Index i of every answer is patterns[i]. The set keeps its own compiled
  // form: the patterns may go once it is built.
  // Patterns neither engine compiles are left out: the set is then not built()
  // and every question is answered "don't know" (callers ask the patterns one by one).
  explicit PatternSet(const std::vector<const RE2*>& patterns);
  PatternSet(const std::vector<const RE2*>& patterns, Options options);
  ~PatternSet();
  PatternSet(PatternSet&&) noexcept;
  PatternSet& operator=(PatternSet&&) noexcept;

  // The indexes of the patterns matching somewhere in `text`, ascending, in
  // `matched`; false when the set cannot answer (not built, or RE2's DFA ran
  // out of memory on this text): then nothing is known. Safe to call from
  // several threads at once.
  bool matching(std::string_view text, std::vector<int>& matched) const;

  bool built() const;
  // Which engine answers pattern i (for tests and the create-time log).
  Engine engine(std::size_t i) const;
  // Patterns answered by Hyperscan.
  std::size_t hyperscan_patterns() const;
  // Whether this build has Hyperscan and this CPU can run it.
  static bool hyperscan_available();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace guardrail
