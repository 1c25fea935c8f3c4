#include "body/string_scan.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace bbr {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The characters escaped by a backslash (an odd run of backslashes before
// them), carrying a run across blocks in `carry`: simdjson's stage 1 method.
uint64_t escaped_characters(uint64_t backslashes, uint64_t& carry) {
  constexpr uint64_t kEvenBits = 0x5555555555555555ULL;
  backslashes &= ~carry;
  const uint64_t follows_escape = backslashes << 1 | carry;
  const uint64_t odd_sequence_starts = backslashes & ~kEvenBits & ~follows_escape;
  uint64_t sequences_starting_on_even_bits = 0;
  carry = __builtin_add_overflow(odd_sequence_starts, backslashes, &sequences_starting_on_even_bits)
              ? 1
              : 0;
  const uint64_t invert_mask = sequences_starting_on_even_bits << 1;
  return (kEvenBits ^ invert_mask) & follows_escape;
}

// scan_string: the 64-byte block masks come in three builds of the same code
// (string_scan.inc): SSE2 (every x86-64; plain C elsewhere), AVX2 and
// AVX-512BW, picked at run time as simdjson picks its kernels. All give the
// same answers (the unit tests run all three, see scan_string_builds_agree).
namespace portable {

// Bit k of `quotes` / `backslashes` set when data[k] is '"' / '\\', for the
// 64 bytes at `data` (the body carries kParsePadding readable bytes past its
// end, so the last block may read past the span).
void quote_and_backslash_masks(const char* data, uint64_t& quotes, uint64_t& backslashes) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  quotes = 0;
  backslashes = 0;
  for (int k = 0; k < 4; ++k) {
    __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * k));
    quotes |= static_cast<uint64_t>(
                  static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, quote))))
              << (16 * k);
    backslashes |= static_cast<uint64_t>(
                       static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, backslash))))
                   << (16 * k);
  }
#else
  quotes = 0;
  backslashes = 0;
  for (int k = 0; k < 64; ++k) {
    if (data[k] == '"') quotes |= uint64_t{1} << k;
    if (data[k] == '\\') backslashes |= uint64_t{1} << k;
  }
#endif
}

// For the 64 bytes at `data`: which may follow a backslash ("\/bfnrtu),
// which are 'u', which are hex digits. Only computed for blocks holding an
// escape; branch-free, so dense escapes cost no mispredictions.
void escape_masks(const char* data, uint64_t& escape_chars, uint64_t& u_chars, uint64_t& hex) {
  escape_chars = 0;
  u_chars = 0;
  hex = 0;
#if defined(__SSE2__)
  auto in_range = [](__m128i x, char lo, char hi) {  // unsigned lo <= x <= hi
    return _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(lo)), x),
                         _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(hi)), x));
  };
  for (int k = 0; k < 4; ++k) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * k));
    const __m128i u = _mm_cmpeq_epi8(x, _mm_set1_epi8('u'));
    __m128i ok = _mm_or_si128(u, _mm_cmpeq_epi8(x, _mm_set1_epi8('"')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('/')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('b')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('f')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('n')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('r')));
    ok = _mm_or_si128(ok, _mm_cmpeq_epi8(x, _mm_set1_epi8('t')));
    const __m128i lower = _mm_or_si128(x, _mm_set1_epi8(0x20));
    const __m128i h = _mm_or_si128(in_range(x, '0', '9'), in_range(lower, 'a', 'f'));
    const int shift = 16 * k;
    escape_chars |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(ok))) << shift;
    u_chars |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(u))) << shift;
    hex |= static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(h))) << shift;
  }
#else
  for (int k = 0; k < 64; ++k) {
    const char c = data[k];
    const uint64_t bit = uint64_t{1} << k;
    if (std::string_view("\"\\/bfnrtu").find(c) != std::string_view::npos) escape_chars |= bit;
    if (c == 'u') u_chars |= bit;
    if (is_hex(c)) hex |= bit;
  }
#endif
}

#include "body/string_scan.inc"

}  // namespace portable

#if defined(__x86_64__) && defined(__GNUC__)
#define BBR_HAVE_AVX2_SCAN 1
#pragma GCC push_options
#pragma GCC target("avx2,bmi")
namespace avx2 {

void quote_and_backslash_masks(const char* data, uint64_t& quotes, uint64_t& backslashes) {
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32));
  auto bits = [](__m256i m) {
    return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(m)));
  };
  quotes = bits(_mm256_cmpeq_epi8(a, quote)) | bits(_mm256_cmpeq_epi8(b, quote)) << 32;
  backslashes = bits(_mm256_cmpeq_epi8(a, backslash)) | bits(_mm256_cmpeq_epi8(b, backslash)) << 32;
}

// One nibble lookup classifies every byte: bits 0-3 mark the characters that
// may follow a backslash ("/ \ bfn rtu, by high nibble 2, 5, 6, 7), bits 4-5
// the hex digits (0-9; A-F and a-f).
void escape_masks(const char* data, uint64_t& escape_chars, uint64_t& u_chars, uint64_t& hex) {
  constexpr char b0 = 1, b1 = 2, b2 = 4, b3 = 8, b4 = 16, b5 = 32;
  const __m256i by_low =
      _mm256_setr_epi8(b4, b4 | b5, b0 | b2 | b3 | b4 | b5, b4 | b5, b3 | b4 | b5, b3 | b4 | b5,
                       b2 | b4 | b5, b4, b4, b4, 0, 0, b1, 0, b2, b0,  //
                       b4, b4 | b5, b0 | b2 | b3 | b4 | b5, b4 | b5, b3 | b4 | b5, b3 | b4 | b5,
                       b2 | b4 | b5, b4, b4, b4, 0, 0, b1, 0, b2, b0);
  const __m256i by_high =
      _mm256_setr_epi8(0, 0, b0, b4, b5, b1, b2 | b5, b3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b0, b4, b5,
                       b1, b2 | b5, b3, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i zero = _mm256_setzero_si256();
  escape_chars = 0;
  u_chars = 0;
  hex = 0;
  for (int k = 0; k < 2; ++k) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(data + 32 * k));
    const __m256i low = _mm256_and_si256(x, nibble);
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble);
    const __m256i cls =
        _mm256_and_si256(_mm256_shuffle_epi8(by_low, low), _mm256_shuffle_epi8(by_high, high));
    const uint32_t not_escape = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8(0x0F)), zero)));
    const uint32_t not_hex = static_cast<uint32_t>(_mm256_movemask_epi8(
        _mm256_cmpeq_epi8(_mm256_and_si256(cls, _mm256_set1_epi8(0x30)), zero)));
    const uint32_t u =
        static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('u'))));
    escape_chars |= static_cast<uint64_t>(~not_escape) << (32 * k);
    hex |= static_cast<uint64_t>(~not_hex) << (32 * k);
    u_chars |= static_cast<uint64_t>(u) << (32 * k);
  }
}

#include "body/string_scan.inc"

}  // namespace avx2
#pragma GCC pop_options
#endif

#if defined(BBR_HAVE_AVX2_SCAN)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,bmi")
namespace avx512 {

void quote_and_backslash_masks(const char* data, uint64_t& quotes, uint64_t& backslashes) {
  const __m512i x = _mm512_loadu_si512(data);
  quotes = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('"'));
  backslashes = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('\\'));
}

// The same nibble classification as the AVX2 build, 64 bytes at once.
void escape_masks(const char* data, uint64_t& escape_chars, uint64_t& u_chars, uint64_t& hex) {
  constexpr char b0 = 1, b1 = 2, b2 = 4, b3 = 8, b4 = 16, b5 = 32;
  // The 16-entry tables repeated in each 128-bit lane (shuffles stay in lanes).
  alignas(64) static constexpr char kByLow[64] = {
#define BBR_BY_LOW                                                                                \
  b4, b4 | b5, b0 | b2 | b3 | b4 | b5, b4 | b5, b3 | b4 | b5, b3 | b4 | b5, b2 | b4 | b5, b4, b4, \
      b4, 0, 0, b1, 0, b2, b0
      BBR_BY_LOW, BBR_BY_LOW, BBR_BY_LOW, BBR_BY_LOW};
#undef BBR_BY_LOW
  alignas(64) static constexpr char kByHigh[64] = {
#define BBR_BY_HIGH 0, 0, b0, b4, b5, b1, b2 | b5, b3, 0, 0, 0, 0, 0, 0, 0, 0
      BBR_BY_HIGH, BBR_BY_HIGH, BBR_BY_HIGH, BBR_BY_HIGH};
#undef BBR_BY_HIGH
  const __m512i by_low = _mm512_load_si512(kByLow);
  const __m512i by_high = _mm512_load_si512(kByHigh);
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i x = _mm512_loadu_si512(data);
  const __m512i low = _mm512_and_si512(x, nibble);
  const __m512i high = _mm512_and_si512(_mm512_srli_epi16(x, 4), nibble);
  const __m512i cls =
      _mm512_and_si512(_mm512_shuffle_epi8(by_low, low), _mm512_shuffle_epi8(by_high, high));
  escape_chars = _mm512_test_epi8_mask(cls, _mm512_set1_epi8(0x0F));
  hex = _mm512_test_epi8_mask(cls, _mm512_set1_epi8(0x30));
  u_chars = _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8('u'));
}

#include "body/string_scan.inc"

}  // namespace avx512
#pragma GCC pop_options
#endif

int best_scan_level() {
#if defined(BBR_HAVE_AVX2_SCAN)
  static const int level = __builtin_cpu_supports("avx512bw") ? 2
                           : __builtin_cpu_supports("avx2")   ? 1
                                                              : 0;
  return level;
#else
  return 0;
#endif
}

std::atomic<int> scan_level_override{-1};  // set by tests only

}  // namespace

ScanStringFn pick_scan_string() {
  int level = best_scan_level();
  if (int forced = scan_level_override.load(std::memory_order_relaxed); forced >= 0) {
    level = std::min(level, forced);
  }
#if defined(BBR_HAVE_AVX2_SCAN)
  if (level == 2) return avx512::scan_string;
  if (level == 1) return avx2::scan_string;
#endif
  return portable::scan_string;
}

int string_scan_levels() { return best_scan_level() + 1; }
void set_string_scan_level_for_testing(int level) { scan_level_override.store(level); }

}  // namespace bbr
