#include "config/spelling.hpp"

#include <algorithm>
#include <cctype>

namespace bbr {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitution = previous[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

std::string closest_spelling(std::string_view word, const std::vector<std::string>& candidates) {
  // A typo changes a few letters; beyond a third of the word it is another word.
  const size_t tolerance = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_distance = tolerance + 1;
  for (const auto& candidate : candidates) {
    size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string unknown_field_message(std::string_view word, const std::vector<std::string>& allowed) {
  std::string suggestion = closest_spelling(word, allowed);
  if (!suggestion.empty()) return "unknown field (did you mean " + suggestion + "?)";
  std::string message = "unknown field (allowed: ";
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) message += ", ";
    message += allowed[i];
  }
  if (allowed.empty()) message += "none";
  return message + ")";
}

}  // namespace bbr
