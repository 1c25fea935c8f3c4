// InflightBudget: the bound on body bytes held by all streams together.
//
// `--max-body-bytes` bounds one stream; this bounds their sum, so that many
// concurrent large bodies are shed with 503 instead of growing the process
// until the kernel kills it. Lock-free: one atomic add per body message.
#pragma once

#include <atomic>
#include <cstddef>

namespace bbr {

class InflightBudget {
 public:
  // limit 0: unbounded (still counted, for the gauge).
  explicit InflightBudget(std::size_t limit_bytes = 0) : limit_(limit_bytes) {}

  // Takes `bytes` from the budget; false (and nothing taken) when that would
  // pass the limit.
  bool try_take(std::size_t bytes) {
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (limit_ != 0 && (bytes > limit_ || used > limit_ - bytes)) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void give_back(std::size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  std::size_t used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_; }

 private:
  const std::size_t limit_;
  std::atomic<std::size_t> used_{0};
};

// What one stream holds of the budget; gives it all back when destroyed.
class BudgetShare {
 public:
  explicit BudgetShare(InflightBudget* budget) : budget_(budget) {}
  ~BudgetShare() { release(); }
  BudgetShare(const BudgetShare&) = delete;
  BudgetShare& operator=(const BudgetShare&) = delete;

  // True when the stream may hold `bytes` more (always true without a budget).
  bool grow(std::size_t bytes) {
    if (budget_ == nullptr) return true;
    if (!budget_->try_take(bytes)) return false;
    held_ += bytes;
    return true;
  }
  void release() {
    if (budget_ != nullptr && held_ != 0) budget_->give_back(held_);
    held_ = 0;
  }

 private:
  InflightBudget* budget_;
  std::size_t held_ = 0;
};

}  // namespace bbr
