// The tag every asynchronous gRPC operation carries: the completion queue's
// worker thread hands the finished operation back to the object that started
// it, on that same thread, with no other thread involved.
#pragma once

namespace bbr {

class CompletionQueueEvent {
 public:
  // `ok`: the operation succeeded (false: the call or the server went away).
  virtual void on_event(bool ok) = 0;

 protected:
  ~CompletionQueueEvent() = default;
};

// A member event that forwards to a method of its owner, so one object can
// tell apart several operations in flight.
template <class Owner, void (Owner::*Handler)(bool)>
class EventOf final : public CompletionQueueEvent {
 public:
  explicit EventOf(Owner* owner) : owner_(owner) {}
  void on_event(bool ok) override { (owner_->*Handler)(ok); }

 private:
  Owner* owner_;
};

}  // namespace bbr
