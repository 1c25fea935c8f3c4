// "Did you mean ...?" for misspelt field names in configuration and parameters.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bbr {

// The candidate closest to `word` by edit distance (ignoring case), or "" when
// none is close enough to be a plausible typo.
std::string closest_spelling(std::string_view word, const std::vector<std::string>& candidates);

// "unknown field (did you mean parameters?)" or "unknown field (allowed: a, b)".
std::string unknown_field_message(std::string_view word, const std::vector<std::string>& allowed);

}  // namespace bbr
