// FNV-1a, 64 bits: a hash with no seed, the same on every host, build and
// restart, so replicas of bbr-host agree on it (canary buckets in
// model-rewrite, affinity keys in affinity). Not a cryptographic hash: it is
// for spreading and grouping, never for hiding or authenticating anything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bbr_plugins {

// Fed piece by piece: the hash of the pieces is the hash of their
// concatenation.
class StableHash {
 public:
  void add(std::string_view text) {
    for (char c : text) {
      hash_ ^= static_cast<unsigned char>(c);
      hash_ *= 1099511628211ull;
    }
  }
  uint64_t value() const { return hash_; }

  // 16 lowercase hexadecimal digits, most significant first.
  std::string hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15, shift = 0; i >= 0; --i, shift += 4) out[i] = kDigits[(hash_ >> shift) & 0xF];
    return out;
  }

 private:
  uint64_t hash_ = 14695981039346656037ull;
};

inline uint64_t stable_hash(std::string_view text) {
  StableHash hash;
  hash.add(text);
  return hash.value();
}

}  // namespace bbr_plugins
