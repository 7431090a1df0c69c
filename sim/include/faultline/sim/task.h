// Coroutines on simulated time.
//
// `Task<T>` is a lazy coroutine: it starts when awaited (or when spawned as a root of
// a node incarnation) and hands control back to its awaiter by symmetric transfer.
// A Task owns its frame, so destroying a root destroys every frame below it: that is
// how a crash makes every coroutine of an incarnation disappear.
//
// The waiting operations (sleep, RPC, sync, receive) are Boost.Asio asynchronous
// operations made with `async_initiate`, so they accept any completion token. The
// token models use is `use_task`: awaiting the operation inside a Task suspends the
// coroutine, and the operation's handler (a single pointer, stored inline in the
// event queue) resumes it. Plain callbacks work too (see the kernel tests).
#pragma once

#include <boost/asio/async_result.hpp>
#include <cassert>
#include <coroutine>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "faultline/sim/frame_pool.h"

namespace faultline::sim {

template <typename T = void>
class Task;

class RootSet;

namespace detail {

// Links every root coroutine of an incarnation so a crash can destroy them all.
struct RootLink {
  RootLink* previous = nullptr;
  RootLink* next = nullptr;
  std::coroutine_handle<> handle;
};

// Frames come from the thread's frame pool (frame_pool.h).
class PromiseBase : public Pooled {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      PromiseBase& promise = self.promise();
      if (promise.continuation_) return promise.continuation_;
      if (promise.root_set_ != nullptr) finish_root(promise);  // destroys the frame
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void rethrow_if_failed() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  friend class faultline::sim::RootSet;
  template <typename>
  friend class faultline::sim::Task;
  static void finish_root(PromiseBase& promise) noexcept;

  std::coroutine_handle<> continuation_;
  std::exception_ptr exception_;
  RootSet* root_set_ = nullptr;
  RootLink link_;
};

template <typename T>
class Promise : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  template <typename U>
  void return_value(U&& value) {
    value_.emplace(std::forward<U>(value));
  }
  T take() {
    rethrow_if_failed();
    assert(value_.has_value());
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class Promise<void> : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() { rethrow_if_failed(); }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle handle) : handle_(handle) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation_ = awaiter;
    return handle_;
  }
  T await_resume() { return handle_.promise().take(); }

  // Gives up ownership of the frame (to a RootSet).
  Handle release() noexcept { return std::exchange(handle_, {}); }
  explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

 private:
  void reset() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  Handle handle_;
};

namespace detail {
template <typename T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<Promise<T>>::from_promise(*this)};
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<Promise<void>>::from_promise(*this)};
}
}  // namespace detail

// The root coroutines of one node incarnation. A finished root removes and destroys
// itself; `destroy_all` is the crash.
class RootSet {
 public:
  using FailureSink = void (*)(void* context, std::exception_ptr failure);

  RootSet(FailureSink sink, void* sink_context) : sink_(sink), sink_context_(sink_context) {
    head_.previous = &head_;
    head_.next = &head_;
  }
  RootSet(const RootSet&) = delete;
  RootSet& operator=(const RootSet&) = delete;
  ~RootSet() { destroy_all(); }

  // Takes ownership of a not-yet-started task and returns the handle to start it.
  std::coroutine_handle<> adopt(Task<void> task) {
    auto handle = task.release();
    assert(handle);
    detail::PromiseBase& promise = handle.promise();
    promise.root_set_ = this;
    promise.link_.handle = handle;
    detail::RootLink& link = promise.link_;
    link.next = &head_;
    link.previous = head_.previous;
    head_.previous->next = &link;
    head_.previous = &link;
    ++count_;
    return handle;
  }

  void destroy_all() noexcept {
    while (head_.next != &head_) {
      detail::RootLink* link = head_.next;
      unlink(*link);
      link->handle.destroy();
    }
  }

  std::size_t size() const { return count_; }

 private:
  friend class detail::PromiseBase;

  void unlink(detail::RootLink& link) noexcept {
    link.previous->next = link.next;
    link.next->previous = link.previous;
    link.previous = link.next = nullptr;
    --count_;
  }

  detail::RootLink head_;
  std::size_t count_ = 0;
  FailureSink sink_;
  void* sink_context_;
};

inline void detail::PromiseBase::finish_root(PromiseBase& promise) noexcept {
  RootSet& roots = *promise.root_set_;
  roots.unlink(promise.link_);
  if (promise.exception_) roots.sink_(roots.sink_context_, promise.exception_);
  promise.link_.handle.destroy();
}

// The completion token for awaiting a simulated operation inside a Task.
struct use_task_t {
  constexpr use_task_t() = default;
};
inline constexpr use_task_t use_task{};

namespace detail {

template <typename... Args>
struct CompletionValue {
  using type = std::tuple<std::decay_t<Args>...>;
};
template <typename Arg>
struct CompletionValue<Arg> {
  using type = std::decay_t<Arg>;
};

// The awaiter an operation returns under `use_task`. The operation is initiated in
// await_suspend; if it completes before returning (an immediate result), the
// coroutine does not suspend at all.
template <typename Initiation, typename ArgsTuple, typename... Signature>
class OperationAwaiter {
 public:
  using Value = typename CompletionValue<Signature...>::type;
  using Result = std::conditional_t<sizeof...(Signature) == 0, void, Value>;

  // The arguments are stored as the initiation will take them (decayed), built in place.
  template <typename InitiationArg, typename... InitArgs>
  explicit OperationAwaiter(InitiationArg&& initiation, InitArgs&&... args)
      : initiation_(std::forward<InitiationArg>(initiation)), args_(std::forward<InitArgs>(args)...) {}

  struct Handler {
    OperationAwaiter* self;
    template <typename... Values>
    void operator()(Values&&... values) const {
      self->complete(std::forward<Values>(values)...);
    }
  };

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> waiter) {
    waiter_ = waiter;
    state_ = State::initiating;
    std::apply([this](auto&... args) { std::move(initiation_)(Handler{this}, std::move(args)...); }, args_);
    if (state_ == State::completed) return false;
    state_ = State::suspended;
    return true;
  }
  Result await_resume() {
    assert(state_ == State::completed);
    if constexpr (!std::is_void_v<Result>) return std::move(*value_);
  }

 private:
  enum class State { idle, initiating, suspended, completed };

  template <typename... Values>
  void complete(Values&&... values) {
    assert(state_ == State::initiating || state_ == State::suspended);
    if constexpr (sizeof...(Values) > 0) value_.emplace(std::forward<Values>(values)...);
    const bool resume = state_ == State::suspended;
    state_ = State::completed;
    if (resume) waiter_.resume();
  }

  Initiation initiation_;
  ArgsTuple args_;
  std::coroutine_handle<> waiter_;
  State state_ = State::idle;
  std::optional<Value> value_;
};

}  // namespace detail
}  // namespace faultline::sim

template <typename... Args>
struct boost::asio::async_result<faultline::sim::use_task_t, void(Args...)> {
  template <typename Initiation, typename... InitArgs>
  static auto initiate(Initiation&& initiation, faultline::sim::use_task_t, InitArgs&&... args) {
    using ArgsTuple = std::tuple<std::decay_t<InitArgs>...>;
    return faultline::sim::detail::OperationAwaiter<std::decay_t<Initiation>, ArgsTuple, Args...>(
        std::forward<Initiation>(initiation), std::forward<InitArgs>(args)...);
  }
};
