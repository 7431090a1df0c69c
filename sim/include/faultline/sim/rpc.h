// The outcome of a remote call. A timeout cannot tell "not applied" from "applied,
// reply lost": that third outcome, unknown, is what makes the dual write hard.
//
// A request type declares its reply and its name:
//   struct Commit { using Reply = CommitReply; static constexpr std::string_view rpc_name = "db.commit"; ... };
#pragma once

#include <cassert>
#include <optional>
#include <string_view>

namespace faultline::sim {

enum class RpcStatus {
  ok,       // the reply arrived
  refused,  // the callee was down: the request was certainly not applied
  unknown,  // no reply within the timeout: the request may have been applied
};

constexpr std::string_view to_string(RpcStatus status) {
  switch (status) {
    case RpcStatus::ok:
      return "ok";
    case RpcStatus::refused:
      return "refused";
    case RpcStatus::unknown:
      return "unknown";
  }
  return "?";
}

template <typename Reply>
struct RpcResult {
  RpcStatus status = RpcStatus::unknown;
  std::optional<Reply> reply;

  bool ok() const { return status == RpcStatus::ok; }
  const Reply& operator*() const {
    assert(reply.has_value());
    return *reply;
  }
  const Reply* operator->() const {
    assert(reply.has_value());
    return &*reply;
  }
};

}  // namespace faultline::sim
