#include "guardrail/pattern_set.hpp"

#include <re2/set.h>

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <limits>
#include <utility>

#if defined(BBR_HAVE_HYPERSCAN)
#include <hs.h>

#include <mutex>
#endif

namespace guardrail {

// ---------------------------------------------------------------------------
// RE2 syntax to Hyperscan syntax, exactly or not at all.
//
// Hyperscan reads PCRE syntax; RE2's meaning differs from PCRE's in places:
// `$` (PCRE also matches before a final newline), `\s` (PCRE adds \v),
// Unicode case folding (RE2 folds k to KELVIN SIGN and s to LONG S), `.` and
// negated classes (RE2 steps over a whole UTF-8 character, Hyperscan's byte
// mode over one byte, and its UTF-8 mode is undefined on text that is not
// UTF-8), `{` that is not a repeat, inline flags, POSIX classes, \Q..\E, \p.
// So the rule: a pattern goes to Hyperscan only when every construct in it is
// in the short list below, and each is written out in a form whose meaning
// is the same byte for byte on any text, valid UTF-8 or not:
// - ASCII literals (escaped punctuation, \n \t \r \f \v \a, \xHH below 0x80),
//   written as \xHH unless alphanumeric;
// - non-negated classes of ASCII characters, \d \w \s, written as explicit
//   byte ranges (RE2's definitions: \s is [\t\n\f\r ]);
// - groups (capturing or not: written non-capturing), alternation, the
//   repeats * + ? {n} {n,} {n,m} (lazy or not: the same texts match);
// - ^ and $ (RE2's: start and end of text, written \A and \z), \A, \z.
// \b and \B (ASCII word characters in both, on bytes) mean the same too, but
// Hyperscan runs a pattern holding them at a fraction of its speed (measured:
// the ten benchmark patterns at 0.65 GB/s with them, 1.25 GB/s without). So
// they are left out of the Hyperscan form, which then matches a superset of
// what the pattern matches (an assertion left out only adds matches), and a
// text Hyperscan reports for such a pattern is confirmed by the pattern's RE2.
// In a case-insensitive pattern, Hyperscan folds ASCII letters
// (HS_FLAG_CASELESS) and the two non-ASCII characters RE2 also folds into
// ASCII letters are added as alternatives: U+212A with k, U+017F with s
// (and left out of a second form, used on text that holds neither).
// Anything else (a non-ASCII byte in the pattern, ., \D \W \S, [^...], (?flags),
// non-default RE2 options) keeps the pattern on the RE2::Set.
namespace {

using ByteSet = std::bitset<128>;

constexpr std::string_view kKelvinSign = "\\xE2\\x84\\xAA";  // U+212A, folds to k
constexpr std::string_view kLongS = "\\xC5\\xBF";          // U+017F, folds to s

bool is_alnum(int c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_punct(int c) { return c > 0x20 && c < 0x7F && !is_alnum(c); }
int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
int upper(int c) { return c >= 'a' && c <= 'z' ? c - 32 : c; }

void append_hex(std::string& out, int c) {
  static const char kDigits[] = "0123456789ABCDEF";
  out += "\\x";
  out += kDigits[(c >> 4) & 0xF];
  out += kDigits[c & 0xF];
}

class Translator {
 public:
  // fold_non_ascii false: without the two non-ASCII folds (the form used
  // on text that holds neither character).
  Translator(std::string_view pattern, bool caseless, bool fold_non_ascii = true)
      : p_(pattern), caseless_(caseless), fold_non_ascii_(fold_non_ascii) {}

  // Whether a word-boundary assertion was left out (the form is a superset).
  bool relaxed() const { return relaxed_; }

  std::optional<std::string> run() {
    while (i_ < p_.size()) {
      if (!step()) return std::nullopt;
    }
    if (depth_ != 0) return std::nullopt;
    return std::move(out_);
  }

 private:
  bool step() {
    const int c = static_cast<unsigned char>(p_[i_]);
    if (c >= 0x80) return false;
    switch (c) {
      case '(':
        return open_group();
      case ')':
        if (depth_ == 0) return false;
        --depth_;
        ++i_;
        out_ += ')';
        quantifiable_ = true;
        return true;
      case '|':
        ++i_;
        out_ += '|';
        quantifiable_ = false;
        return true;
      case '*':
      case '+':
      case '?':
        if (!quantifiable_) return false;
        ++i_;
        out_ += static_cast<char>(c);
        return after_repeat();
      case '{':
        return repeat_braces();
      case '^':
        ++i_;
        out_ += "\\A";
        quantifiable_ = false;
        return true;
      case '$':
        ++i_;
        out_ += "\\z";
        quantifiable_ = false;
        return true;
      case '.':
        return false;
      case '[':
        return char_class();
      case '\\':
        return escape();
      default:
        ++i_;
        literal(c);
        return true;
    }
  }

  bool open_group() {
    ++i_;
    if (i_ < p_.size() && p_[i_] == '?') {
      // (?:...) and named groups (?P<name>...), (?<name>...); no flags.
      if (p_.compare(i_, 2, "?:") == 0) {
        i_ += 2;
      } else {
        std::size_t name = 0;
        if (p_.compare(i_, 3, "?P<") == 0) name = i_ + 3;
        else if (p_.compare(i_, 2, "?<") == 0) name = i_ + 2;
        else return false;
        std::size_t end = name;
        while (end < p_.size() && (is_alnum(static_cast<unsigned char>(p_[end])) || p_[end] == '_'))
          ++end;
        if (end == name || end >= p_.size() || p_[end] != '>') return false;
        i_ = end + 1;
      }
    }
    out_ += "(?:";
    ++depth_;
    quantifiable_ = false;
    return true;
  }

  // A lazy repeat (`?` after it) matches the same texts: dropped.
  bool after_repeat() {
    if (i_ < p_.size() && p_[i_] == '?') ++i_;
    quantifiable_ = false;
    return true;
  }

  bool number(int& value) {
    const std::size_t start = i_;
    value = 0;
    while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9' && i_ - start < 5) {
      value = value * 10 + (p_[i_] - '0');
      ++i_;
    }
    return i_ > start;
  }

  // {n}, {n,}, {n,m}; a brace that is not one of these is a literal in RE2
  // and sometimes a repeat in PCRE: refused.
  bool repeat_braces() {
    if (!quantifiable_) return false;
    ++i_;
    int min = 0;
    int max = -1;
    if (!number(min)) return false;
    std::string spec = "{" + std::to_string(min);
    if (i_ < p_.size() && p_[i_] == ',') {
      ++i_;
      spec += ',';
      if (number(max)) spec += std::to_string(max);
    } else {
      max = min;
    }
    if (i_ >= p_.size() || p_[i_] != '}') return false;
    ++i_;
    out_ += spec + "}";
    return after_repeat();
  }

  void literal(int c) {
    quantifiable_ = true;
    if (caseless_ && fold_non_ascii_ && (lower(c) == 'k' || lower(c) == 's')) {
      out_ += "(?:";
      out_ += static_cast<char>(c);
      out_ += '|';
      out_ += lower(c) == 'k' ? kKelvinSign : kLongS;
      out_ += ')';
      return;
    }
    if (is_alnum(c)) out_ += static_cast<char>(c);
    else append_hex(out_, c);
  }

  // The byte an escape outside \d \w \s stands for, or -1.
  int escaped_byte(int e) {
    switch (e) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'a': return '\a';
      case 'x': return hex();
      default: return is_punct(e) ? e : -1;
    }
  }

  // After "\x": HH or {H...}, below 0x80.
  int hex() {
    auto digit = [](char h) {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    int value = 0;
    if (i_ < p_.size() && p_[i_] == '{') {
      ++i_;
      int digits = 0;
      while (i_ < p_.size() && p_[i_] != '}') {
        const int d = digit(p_[i_]);
        if (d < 0 || ++digits > 6) return -1;
        value = value * 16 + d;
        ++i_;
      }
      if (i_ >= p_.size() || digits == 0) return -1;
      ++i_;
    } else {
      for (int k = 0; k < 2; ++k) {
        if (i_ >= p_.size()) return -1;
        const int d = digit(p_[i_]);
        if (d < 0) return -1;
        value = value * 16 + d;
        ++i_;
      }
    }
    return value < 0x80 ? value : -1;
  }

  static bool perl_class(int e, ByteSet& set) {
    switch (e) {
      case 'd':
        for (int c = '0'; c <= '9'; ++c) set.set(c);
        return true;
      case 'w':
        for (int c = 0; c < 128; ++c) set[c] = set[c] || is_alnum(c) || c == '_';
        return true;
      case 's':  // RE2's \s: no \v
        for (int c : {'\t', '\n', '\f', '\r', ' '}) set.set(c);
        return true;
      default:
        return false;
    }
  }

  bool escape() {
    ++i_;
    if (i_ >= p_.size()) return false;
    const int e = static_cast<unsigned char>(p_[i_++]);
    switch (e) {
      case 'b':
      case 'B':
        relaxed_ = true;
        quantifiable_ = false;
        return true;
      case 'A':
      case 'z':
        out_ += '\\';
        out_ += static_cast<char>(e);
        quantifiable_ = false;
        return true;
      default:
        break;
    }
    ByteSet set;
    if (perl_class(e, set)) {
      emit_class(set);
      return true;
    }
    const int byte = escaped_byte(e);
    if (byte < 0) return false;
    literal(byte);
    return true;
  }

  // One class member: a literal or an escape; -1 (with `set` filled) for \d \w \s.
  bool class_char(int& c, ByteSet& set) {
    if (i_ >= p_.size()) return false;
    c = static_cast<unsigned char>(p_[i_]);
    if (c >= 0x80 || c == '[') return false;  // [[:alpha:]] and friends: refused
    ++i_;
    if (c != '\\') return true;
    if (i_ >= p_.size()) return false;
    const int e = static_cast<unsigned char>(p_[i_++]);
    if (perl_class(e, set)) {
      c = -1;
      return true;
    }
    c = escaped_byte(e);
    return c >= 0;
  }

  bool char_class() {
    ++i_;
    if (i_ >= p_.size() || p_[i_] == '^' || p_[i_] == ']') return false;
    ByteSet set;
    while (i_ < p_.size() && p_[i_] != ']') {
      int lo = 0;
      if (!class_char(lo, set)) return false;
      if (lo < 0) continue;
      if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        int hi = 0;
        if (!class_char(hi, set) || hi < lo) return false;
        for (int c = lo; c <= hi; ++c) set.set(static_cast<std::size_t>(c));
        if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') return false;
      } else {
        set.set(static_cast<std::size_t>(lo));
      }
    }
    if (i_ >= p_.size()) return false;
    ++i_;  // ]
    emit_class(set);
    return true;
  }

  void emit_class(ByteSet set) {
    quantifiable_ = true;
    bool kelvin = false;
    bool long_s = false;
    if (caseless_) {
      for (int c = 'a'; c <= 'z'; ++c) {
        if (set[c] || set[upper(c)]) set.set(c).set(upper(c));
      }
      kelvin = fold_non_ascii_ && set['k'];
      long_s = fold_non_ascii_ && set['s'];
    }
    if (kelvin || long_s) out_ += "(?:";
    out_ += '[';
    for (int c = 0; c < 128;) {
      if (!set[c]) {
        ++c;
        continue;
      }
      int end = c;
      while (end + 1 < 128 && set[end + 1]) ++end;
      append_hex(out_, c);
      if (end > c) {
        out_ += '-';
        append_hex(out_, end);
      }
      c = end + 1;
    }
    out_ += ']';
    if (kelvin) (out_ += '|') += kKelvinSign;
    if (long_s) (out_ += '|') += kLongS;
    if (kelvin || long_s) out_ += ')';
  }

  std::string_view p_;
  bool caseless_;
  bool fold_non_ascii_;
  std::size_t i_ = 0;
  int depth_ = 0;
  bool quantifiable_ = false;
  bool relaxed_ = false;
  std::string out_;
};

}  // namespace

std::optional<HyperscanExpression> translate_for_hyperscan(const RE2& pattern) {
  const RE2::Options& o = pattern.options();
  // Options that change what the syntax means (or which text is seen).
  if (o.encoding() != RE2::Options::EncodingUTF8 || o.literal() || o.never_nl() ||
      o.posix_syntax() || o.dot_nl()) {
    return std::nullopt;
  }
  const bool caseless = !o.case_sensitive();
  Translator translator(pattern.pattern(), caseless);
  auto expression = translator.run();
  if (!expression) return std::nullopt;
  auto ascii = Translator(pattern.pattern(), caseless, false).run();
  return HyperscanExpression{std::move(*expression), caseless, translator.relaxed(),
                             ascii.value_or(std::string())};
}

// ---------------------------------------------------------------------------

#if defined(BBR_HAVE_HYPERSCAN)
namespace {

// One database for the patterns Hyperscan answers, and the scratch space a
// scan needs: hs_scratch_t is used by one scan at a time, so scans take one
// from a pool (cloned from the first as needed: at most one per thread
// scanning at once) and give it back.
class HyperscanDatabase {
 public:
  // Compiles what it can of `expressions` (ids are the indexes into `ids`).
  // A pattern Hyperscan refuses (too large, a construct it lacks) is left
  // out, reported in `refused`, and the rest compiled again.
  static std::unique_ptr<HyperscanDatabase> compile(std::vector<HyperscanExpression> expressions,
                                                    std::vector<int> ids, std::vector<int>& refused) {
    while (!expressions.empty()) {
      std::vector<const char*> texts;
      std::vector<unsigned> flags;
      std::vector<unsigned> hs_ids;
      for (std::size_t i = 0; i < expressions.size(); ++i) {
        texts.push_back(expressions[i].expression.c_str());
        flags.push_back(HS_FLAG_SINGLEMATCH | (expressions[i].caseless ? HS_FLAG_CASELESS : 0u));
        hs_ids.push_back(static_cast<unsigned>(ids[i]));
      }
      hs_database_t* db = nullptr;
      hs_compile_error_t* error = nullptr;
      if (hs_compile_multi(texts.data(), flags.data(), hs_ids.data(),
                           static_cast<unsigned>(texts.size()), HS_MODE_BLOCK, nullptr, &db,
                           &error) == HS_SUCCESS) {
        hs_scratch_t* scratch = nullptr;
        if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
          hs_free_database(db);
          break;
        }
        return std::unique_ptr<HyperscanDatabase>(new HyperscanDatabase(db, scratch));
      }
      const int which = error != nullptr ? error->expression : -1;
      hs_free_compile_error(error);
      if (which < 0 || static_cast<std::size_t>(which) >= expressions.size()) break;
      refused.push_back(ids[static_cast<std::size_t>(which)]);
      expressions.erase(expressions.begin() + which);
      ids.erase(ids.begin() + which);
    }
    refused.insert(refused.end(), ids.begin(), ids.end());
    return nullptr;
  }

  ~HyperscanDatabase() {
    for (auto* scratch : free_) hs_free_scratch(scratch);
    hs_free_database(db_);
  }

  // Appends the ids of the patterns matching in `text`; false on a scan error.
  bool scan(std::string_view text, std::vector<int>& matched) const {
    // hs_scan takes an unsigned int length: a longer text is not answered here.
    if (text.size() > std::numeric_limits<unsigned int>::max()) return false;
    hs_scratch_t* scratch = take();
    if (scratch == nullptr) return false;
    auto on_match = [](unsigned int id, unsigned long long, unsigned long long, unsigned int,
                       void* context) -> int {
      static_cast<std::vector<int>*>(context)->push_back(static_cast<int>(id));
      return 0;  // go on: every pattern that matches is wanted (each once)
    };
    const std::size_t before = matched.size();
    const hs_error_t status = hs_scan(db_, text.data(), static_cast<unsigned int>(text.size()), 0,
                                      scratch, on_match, &matched);
    give_back(scratch);
    if (status != HS_SUCCESS) matched.resize(before);
    return status == HS_SUCCESS;
  }

 private:
  HyperscanDatabase(hs_database_t* db, hs_scratch_t* scratch) : db_(db) { free_.push_back(scratch); }

  hs_scratch_t* take() const {
    std::unique_lock lock(mutex_);
    if (free_.size() > 1) {
      hs_scratch_t* scratch = free_.back();
      free_.pop_back();
      return scratch;
    }
    // Keep the last one as the prototype to clone from.
    hs_scratch_t* clone = nullptr;
    if (hs_clone_scratch(free_.front(), &clone) != HS_SUCCESS) return nullptr;
    return clone;
  }

  void give_back(hs_scratch_t* scratch) const {
    std::lock_guard lock(mutex_);
    free_.push_back(scratch);
  }

  hs_database_t* db_;
  mutable std::mutex mutex_;
  mutable std::vector<hs_scratch_t*> free_;  // never empty: free_[0] is the prototype
};

}  // namespace
#endif

struct PatternSet::Impl {
  std::vector<Engine> engines;
  // For a pattern whose Hyperscan form is a superset: its own RE2 (a copy:
  // the set outlives the caller's patterns), asked when Hyperscan reports it.
  std::vector<std::unique_ptr<RE2>> confirm;
  // The RE2::Set's index j is pattern re2_ids[j].
  std::unique_ptr<RE2::Set> re2_set;
  std::vector<int> re2_ids;
#if defined(BBR_HAVE_HYPERSCAN)
  std::unique_ptr<HyperscanDatabase> hyperscan;
  // When some pattern folds a non-ASCII character into k or s: the same
  // patterns without those folds, plus the two characters themselves as
  // patterns (ids `gate` and gate + 1). Those folds cost Hyperscan a fifth of
  // its speed and almost no text holds the characters: a text where either
  // is found is scanned again with `hyperscan`.
  std::unique_ptr<HyperscanDatabase> ascii_hyperscan;
  int gate = 0;
#endif
  std::size_t hyperscan_patterns = 0;
};

PatternSet::PatternSet() = default;
PatternSet::~PatternSet() = default;
PatternSet::PatternSet(PatternSet&&) noexcept = default;
PatternSet& PatternSet::operator=(PatternSet&&) noexcept = default;

PatternSet::PatternSet(const std::vector<const RE2*>& patterns)
    : PatternSet(patterns, Options{}) {}

bool PatternSet::hyperscan_available() {
#if defined(BBR_HAVE_HYPERSCAN)
  return hs_valid_platform() == HS_SUCCESS;
#else
  return false;
#endif
}

namespace {

#if defined(BBR_HAVE_HYPERSCAN)
// The database of Impl::ascii_hyperscan for the patterns `ids` not `refused`,
// or nullptr when no pattern folds a non-ASCII character (or it does not compile).
std::unique_ptr<HyperscanDatabase> ascii_database(const std::vector<HyperscanExpression>& all,
                                                  const std::vector<int>& ids,
                                                  const std::vector<int>& refused, int& gate) {
  std::vector<HyperscanExpression> expressions;
  std::vector<int> kept;
  bool folds = false;
  for (std::size_t k = 0; k < all.size(); ++k) {
    if (std::find(refused.begin(), refused.end(), ids[k]) != refused.end()) continue;
    folds = folds || all[k].ascii_expression != all[k].expression;
    expressions.push_back({all[k].ascii_expression, all[k].caseless, all[k].relaxed, {}});
    kept.push_back(ids[k]);
  }
  if (!folds) return nullptr;
  gate = *std::max_element(ids.begin(), ids.end()) + 1;
  expressions.push_back({std::string(kLongS), false, false, {}});
  kept.push_back(gate);
  expressions.push_back({std::string(kKelvinSign), false, false, {}});
  kept.push_back(gate + 1);
  std::vector<int> not_compiled;
  auto db = HyperscanDatabase::compile(std::move(expressions), std::move(kept), not_compiled);
  return not_compiled.empty() ? std::move(db) : nullptr;
}
#endif

// The patterns `ids` in one RE2::Set with the options they were compiled
// with, or nullptr when it does not compile within their memory budget.
std::unique_ptr<RE2::Set> re2_set(const std::vector<const RE2*>& patterns,
                                  const std::vector<int>& ids) {
  const RE2& first = *patterns[static_cast<std::size_t>(ids.front())];
  RE2::Options options = first.options();
  options.set_case_sensitive(true);  // per pattern, below
  // The budget the patterns had one by one, shared.
  options.set_max_mem(first.options().max_mem() * static_cast<int64_t>(ids.size()));
  auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  for (std::size_t j = 0; j < ids.size(); ++j) {
    const RE2& re = *patterns[static_cast<std::size_t>(ids[j])];
    // (?i) at the front applies to the whole of this pattern only.
    std::string text = re.options().case_sensitive() ? re.pattern() : "(?i)" + re.pattern();
    if (set->Add(text, nullptr) != static_cast<int>(j)) return nullptr;
  }
  if (!set->Compile()) return nullptr;
  return set;
}

}  // namespace

PatternSet::PatternSet(const std::vector<const RE2*>& patterns, Options options) {
  if (patterns.empty()) return;
  auto impl = std::make_unique<Impl>();
  impl->engines.assign(patterns.size(), Engine::kRe2Set);
  std::vector<int> rest;
#if defined(BBR_HAVE_HYPERSCAN)
  if (options.use_hyperscan && hyperscan_available()) {
    std::vector<HyperscanExpression> expressions;
    std::vector<int> ids;
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      if (auto expression = translate_for_hyperscan(*patterns[i])) {
        expressions.push_back(std::move(*expression));
        ids.push_back(static_cast<int>(i));
      } else {
        rest.push_back(static_cast<int>(i));
      }
    }
    std::vector<bool> relaxed;
    for (const auto& expression : expressions) relaxed.push_back(expression.relaxed);
    const std::vector<HyperscanExpression> all = expressions;
    impl->hyperscan = HyperscanDatabase::compile(std::move(expressions), ids, rest);
    if (impl->hyperscan) impl->ascii_hyperscan = ascii_database(all, ids, rest, impl->gate);
    if (impl->hyperscan) {
      impl->confirm.resize(patterns.size());
      for (std::size_t k = 0; k < ids.size(); ++k) {
        const auto id = static_cast<std::size_t>(ids[k]);
        if (std::find(rest.begin(), rest.end(), ids[k]) != rest.end()) continue;
        impl->engines[id] = relaxed[k] ? Engine::kHyperscanConfirmed : Engine::kHyperscan;
        if (relaxed[k]) {
          impl->confirm[id] = std::make_unique<RE2>(patterns[id]->pattern(), patterns[id]->options());
        }
        ++impl->hyperscan_patterns;
      }
    }
    std::sort(rest.begin(), rest.end());
  } else
#endif
  {
    (void)options;
    for (std::size_t i = 0; i < patterns.size(); ++i) rest.push_back(static_cast<int>(i));
  }
  if (!rest.empty()) {
    impl->re2_set = re2_set(patterns, rest);
    if (!impl->re2_set) return;  // not built: callers ask the patterns one by one
    impl->re2_ids = std::move(rest);
  }
  impl_ = std::move(impl);
}

bool PatternSet::built() const { return impl_ != nullptr; }

PatternSet::Engine PatternSet::engine(std::size_t i) const {
  return impl_ != nullptr && i < impl_->engines.size() ? impl_->engines[i] : Engine::kRe2Set;
}

std::size_t PatternSet::hyperscan_patterns() const {
  return impl_ != nullptr ? impl_->hyperscan_patterns : 0;
}

bool PatternSet::matching(std::string_view text, std::vector<int>& matched) const {
  matched.clear();
  if (!impl_) return false;
#if defined(BBR_HAVE_HYPERSCAN)
  if (impl_->hyperscan) {
    bool scanned = false;
    if (impl_->ascii_hyperscan) {
      scanned = impl_->ascii_hyperscan->scan(text, matched);
      if (scanned && std::any_of(matched.begin(), matched.end(),
                                 [&](int id) { return id >= impl_->gate; })) {
        matched.clear();
        scanned = false;  // a folded character is there: every fold is needed
      }
    }
    if (!scanned && !impl_->hyperscan->scan(text, matched)) {
      matched.clear();
      return false;
    }
    // Hyperscan's answer for a relaxed pattern is a candidate: RE2 decides.
    const re2::StringPiece whole(text.data(), text.size());
    matched.erase(std::remove_if(matched.begin(), matched.end(),
                                 [&](int id) {
                                   const auto& re = impl_->confirm[static_cast<std::size_t>(id)];
                                   return re != nullptr && !RE2::PartialMatch(whole, *re);
                                 }),
                  matched.end());
  }
#endif
  if (impl_->re2_set) {
    const re2::StringPiece whole(text.data(), text.size());
    RE2::Set::ErrorInfo error{RE2::Set::kNoError};
    // Whether any pattern matches first: that pass stops at the first match
    // and allocates nothing, and "none" is the usual answer. Which ones is a
    // second pass, taken only for a text that is refused or redacted.
    if (!impl_->re2_set->Match(whole, nullptr, &error)) {
      if (error.kind != RE2::Set::kNoError) {
        matched.clear();
        return false;
      }
    } else {
      std::vector<int> found;
      if (!impl_->re2_set->Match(whole, &found, &error)) {
        matched.clear();
        return false;
      }
      for (int j : found) matched.push_back(impl_->re2_ids[static_cast<std::size_t>(j)]);
    }
  }
  std::sort(matched.begin(), matched.end());  // neither engine gives them in order
  return true;
}

}  // namespace guardrail
