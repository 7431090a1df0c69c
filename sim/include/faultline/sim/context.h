// What a node's code sees of the world: its clock, its random stream, its disk,
// sleep, named points, RPC, and the incarnation's volatile objects. One Context per
// incarnation; when the node crashes, the Context and everything made through it
// is gone, and no code of that incarnation runs again.
//
// Included by simulation.h; do not include directly.
#pragma once

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <coroutine>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "faultline/sim/rpc.h"
#include "faultline/sim/task.h"

namespace faultline::sim {

namespace detail {

// Lets requests be looked up by type without RTTI names or addresses reaching the trace.
template <typename T>
struct TypeTag {
  static constexpr char tag = 0;
};

struct PendingCall : Pooled {
  virtual ~PendingCall() = default;
  // `reply` points to the typed reply when status is ok.
  virtual void finish(RpcStatus status, void* reply) = 0;
};

template <typename Reply, typename Handler>
struct TypedPendingCall final : PendingCall {
  explicit TypedPendingCall(Handler handler) : handler(std::move(handler)) {}
  void finish(RpcStatus status, void* reply) override {
    RpcResult<Reply> result;
    result.status = status;
    if (status == RpcStatus::ok) result.reply.emplace(std::move(*static_cast<Reply*>(reply)));
    std::move(handler)(std::move(result));
  }
  Handler handler;
};

struct ServiceBase {
  virtual ~ServiceBase() = default;
};

template <typename Request>
struct Service final : ServiceBase {
  using Handler = std::function<Task<typename Request::Reply>(Request&&)>;
  explicit Service(Handler handler) : handler(std::move(handler)) {}
  Handler handler;
};

struct VolatileBase {
  virtual ~VolatileBase() = default;
};
template <typename T>
struct VolatileBox final : VolatileBase {
  template <typename... Args>
  explicit VolatileBox(Args&&... args) : value(std::forward<Args>(args)...) {}
  T value;
};

}  // namespace detail

class Context {
 public:
  Context(Simulation& simulation, NodeId node, std::uint32_t incarnation, std::uint64_t seed);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  Simulation& simulation() { return simulation_; }
  NodeId node() const { return node_; }
  std::uint32_t incarnation() const { return incarnation_; }
  Owner owner() const { return {node_, incarnation_}; }
  const std::string& name() const;
  Instant now() const;
  // The node's own clock: simulated time plus the node's current clock skew. Code that
  // compares times across nodes (a lease expiry written by one node and checked by
  // another) reads this one, so clock skew faults reach it. It is not monotonic: a
  // skew fault steps it, backwards too, like an NTP step.
  Instant local_now() const;
  Rng& rng() { return rng_; }
  Disk& disk();

  // Sleeps for `length` of simulated time.
  template <typename Token = use_task_t>
  auto sleep(Duration length, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void()>(SleepInitiation{this}, token, length);
  }

  // Makes every write of `durable` issued so far survive a crash, after a simulated
  // fsync latency. A crash before completion leaves them volatile.
  template <typename Token = use_task_t>
  auto sync(Durable& durable, Token&& token = {}) {
    return boost::asio::async_initiate<Token, void()>(SyncInitiation{this}, token, &durable);
  }

  // A named step of a protocol: counted for coverage, and a place where a planned
  // fault (crash, pause) strikes. `name` must outlive the simulation (a literal).
  struct PointAwaiter {
    Context* context;
    std::string_view name;
    const Fault* fault = nullptr;
    bool await_ready();
    void await_suspend(std::coroutine_handle<> waiter);
    void await_resume() const noexcept {}
  };
  PointAwaiter point(std::string_view name) { return PointAwaiter{this, name}; }

  // Starts a root coroutine of this incarnation (at the current instant, after the
  // events already due).
  void spawn(Task<void> task);

  // A volatile object owned by this incarnation: destroyed by a crash, after every
  // coroutine of the incarnation.
  template <typename T, typename... Args>
  T& make(Args&&... args) {
    auto box = std::make_unique<detail::VolatileBox<T>>(std::forward<Args>(args)...);
    T& value = box->value;
    objects_.push_back(std::move(box));
    return value;
  }

  // Calls `to` with `request`. Completes with the reply; with `refused` when `to` is
  // down (the request was certainly not applied); or with `unknown` when no reply
  // came within `timeout` (the request may or may not have been applied).
  // The operation keeps its own copy of the request (moved in from an rvalue).
  template <typename RequestArg, typename Token = use_task_t>
  auto call(NodeId to, RequestArg&& request, Duration timeout, Token&& token = {}) {
    using Request = std::remove_cvref_t<RequestArg>;
    using Reply = typename Request::Reply;
    return boost::asio::async_initiate<Token, void(RpcResult<Reply>)>(CallInitiation<Request>{this}, token, to,
                                                                      std::forward<RequestArg>(request), timeout);
  }

  // Serves requests of type `Request`: each one runs `handler` as its own root coroutine.
  // The request handed to the handler lives until the handler's task completes (in the
  // serving coroutine), so a handler coroutine may take it by reference.
  template <typename Request, typename Handler>
  void serve(Handler handler) {
    auto service =
        std::make_unique<detail::Service<Request>>(typename detail::Service<Request>::Handler(std::move(handler)));
    const void* tag = &detail::TypeTag<Request>::tag;
    for (auto& [served, existing] : services_)
      if (served == tag) {
        existing = std::move(service);  // serving it again replaces the handler
        return;
      }
    services_.emplace_back(tag, std::move(service));
  }

  // A model's own trace record (folded into the hash; part of the story).
  void note(std::string_view kind, std::string_view detail);

 private:
  friend class Simulation;

  struct SleepInitiation {
    Context* context;
    template <typename Handler>
    void operator()(Handler&& handler, Duration length) const {
      context->simulation_.schedule(context->now() + length, context->owner(), std::forward<Handler>(handler));
    }
  };

  struct SyncInitiation {
    Context* context;
    template <typename Handler>
    void operator()(Handler&& handler, Durable* durable) const {
      const std::size_t upto = durable->size();
      const Duration latency = context->sync_latency();
      context->simulation_.schedule(context->now() + latency, context->owner(),
                                    [handler = std::forward<Handler>(handler), durable, upto]() mutable {
                                      durable->mark_synced(upto);
                                      std::move(handler)();
                                    });
    }
  };

  template <typename Request>
  struct CallInitiation {
    Context* context;
    template <typename Handler>
    void operator()(Handler&& handler, NodeId to, Request&& request, Duration timeout) const {
      using Reply = typename Request::Reply;
      context->start_call<Request>(
          std::make_unique<detail::TypedPendingCall<Reply, std::decay_t<Handler>>>(std::forward<Handler>(handler)), to,
          std::move(request), timeout);
    }
  };

  Duration sync_latency();
  std::uint64_t register_call(std::unique_ptr<detail::PendingCall> pending, Duration timeout);
  void finish_call(std::uint64_t call, RpcStatus status, void* reply);
  void refuse_call(std::uint64_t call, NodeId to);
  void refuse_call_remote(NodeId caller, std::uint32_t caller_incarnation, std::uint64_t call);
  std::coroutine_handle<> adopt(Task<void> task);

  // A message of a call of `Request`: the request, or the reply to one incarnation of
  // the caller. Its kind is the request's name, digested once per type.
  template <typename Request>
  class CallMessage : public detail::Message {
   protected:
    CallMessage(NodeId from, NodeId to, std::uint32_t caller_incarnation, std::uint64_t call)
        : Message(from, to, Request::rpc_name, kind_digest), caller_incarnation_(caller_incarnation), call_(call) {}
    CallMessage(const CallMessage&) = default;

    static constexpr std::uint64_t kind_digest = Trace::digest(Request::rpc_name);
    std::uint32_t caller_incarnation_;
    std::uint64_t call_;
  };

  template <typename Request>
  class RequestMessage final : public CallMessage<Request> {
   public:
    RequestMessage(NodeId from, NodeId to, std::uint32_t caller_incarnation, std::uint64_t call, Request&& request)
        : CallMessage<Request>(from, to, caller_incarnation, call), request_(std::move(request)) {}

   private:
    void deliver(Context& server) override {
      server.dispatch<Request>(this->from(), this->caller_incarnation_, this->call_, std::move(request_));
    }
    std::unique_ptr<detail::Message> copy() const override {
      return std::unique_ptr<detail::Message>(new RequestMessage(*this));
    }
    RequestMessage(const RequestMessage&) = default;

    Request request_;
  };

  template <typename Request>
  class ReplyMessage final : public CallMessage<Request> {
   public:
    using Reply = typename Request::Reply;
    ReplyMessage(NodeId from, NodeId to, std::uint32_t caller_incarnation, std::uint64_t call, Reply&& reply)
        : CallMessage<Request>(from, to, caller_incarnation, call), reply_(std::move(reply)) {}

   private:
    void deliver(Context& client) override {
      if (client.incarnation() != this->caller_incarnation_) return;  // the caller crashed meanwhile
      // A duplicated reply finds the call already finished, and finish_call ignores it
      // without reading the reply.
      client.finish_call(this->call_, RpcStatus::ok, &reply_);
    }
    std::unique_ptr<detail::Message> copy() const override {
      return std::unique_ptr<detail::Message>(new ReplyMessage(*this));
    }
    ReplyMessage(const ReplyMessage&) = default;

    Reply reply_;
  };

  template <typename Request>
  void start_call(std::unique_ptr<detail::PendingCall> pending, NodeId to, Request&& request, Duration timeout);
  template <typename Request>
  void dispatch(NodeId caller, std::uint32_t caller_incarnation, std::uint64_t call, Request&& request);
  template <typename Request>
  Task<void> serve_one(detail::Service<Request>& service, NodeId caller, std::uint32_t caller_incarnation,
                       std::uint64_t call, Request&& arriving);
  template <typename Request>
  void send_reply(NodeId caller, std::uint32_t caller_incarnation, std::uint64_t call, typename Request::Reply&& reply);
  bool lose_response(std::string_view kind);

  Simulation& simulation_;
  NodeId node_;
  std::uint32_t incarnation_;
  Rng rng_;
  // Calls in flight, ascending by call id (ids only grow, so a new call goes last),
  // each with its timeout event, cancelled when the call completes first.
  struct InFlight {
    std::uint64_t call;
    std::uint32_t timeout_event;
    std::unique_ptr<detail::PendingCall> pending;
  };
  std::vector<InFlight> pending_calls_;
  // The request types served, by type tag: a handful per node, found by a short scan.
  std::vector<std::pair<const void*, std::unique_ptr<detail::ServiceBase>>> services_;
  std::vector<std::unique_ptr<detail::VolatileBase>> objects_;
  // Declared last so it is destroyed first: coroutines go before the objects they use.
  std::unique_ptr<RootSet> roots_;
};

}  // namespace faultline::sim

namespace faultline::sim {

template <typename Request>
void Context::start_call(std::unique_ptr<detail::PendingCall> pending, NodeId to, Request&& request, Duration timeout) {
  const std::uint64_t call = register_call(std::move(pending), timeout);
  if (simulation_.state(to) == NodeState::down) {
    refuse_call(call, to);
    return;
  }
  // The request travels inside the message (a duplicated message carries a copy).
  // Naming the serving side here instantiates it now: reached only through the
  // message's virtual function, it would be instantiated with the vtable at the end of
  // the translation unit, where g++ 12 warns (-Wsubobject-linkage) about the serving
  // coroutine's frame when the request type is in an anonymous namespace.
  static_cast<void>(&Context::dispatch<Request>);
  simulation_.send(MessageRole::request,
                   std::make_unique<RequestMessage<Request>>(node_, to, incarnation_, call, std::move(request)));
}

template <typename Request>
void Context::dispatch(NodeId caller, std::uint32_t caller_incarnation, std::uint64_t call, Request&& request) {
  const void* tag = &detail::TypeTag<Request>::tag;
  const auto found =
      std::find_if(services_.begin(), services_.end(), [tag](const auto& entry) { return entry.first == tag; });
  if (found == services_.end()) {
    // Up but not serving this request (yet): the connection is refused.
    refuse_call_remote(caller, caller_incarnation, call);
    return;
  }
  auto& service = static_cast<detail::Service<Request>&>(*found->second);
  // Started at once: this runs from the delivery event, not from inside a coroutine,
  // and the coroutine takes the request before the message that carried it is gone.
  adopt(serve_one<Request>(service, caller, caller_incarnation, call, std::move(request))).resume();
}

template <typename Request>
Task<void> Context::serve_one(detail::Service<Request>& service, NodeId caller, std::uint32_t caller_incarnation,
                              std::uint64_t call, Request&& arriving) {
  Request request = std::move(arriving);  // before the first suspension (see dispatch)
  typename Request::Reply reply = co_await service.handler(std::move(request));
  send_reply<Request>(caller, caller_incarnation, call, std::move(reply));
}

template <typename Request>
void Context::send_reply(NodeId caller, std::uint32_t caller_incarnation, std::uint64_t call,
                         typename Request::Reply&& reply) {
  if (lose_response(Request::rpc_name)) return;
  simulation_.send(MessageRole::reply,
                   std::make_unique<ReplyMessage<Request>>(node_, caller, caller_incarnation, call, std::move(reply)));
}

}  // namespace faultline::sim
