// The trace of a run: every step folds a compact record into a 64-bit hash, which is
// how determinism is checked (same scenario, same hash). The full trace, as JSON
// lines, is kept only when asked for (`replay --trace`), so sweeps stay fast.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "faultline/sim/time.h"

namespace faultline::sim {

enum class TraceCapture { hash_only, full };

// One step of a run, as the timeline and the story read it.
struct TraceRecord {
  Instant time;
  std::string node;  // the node the record is about ("" for the simulator itself)
  std::string kind;  // "send", "deliver", "drop", "crash", "point", ...
  std::string detail;
  std::string peer;  // the other end of a message, when there is one
  std::uint64_t message_id = 0;
};

class Trace {
 public:
  explicit Trace(TraceCapture capture = TraceCapture::hash_only) : capture_(capture) {}

  bool capturing() const { return capture_ == TraceCapture::full; }

  void fold(std::uint64_t word) {
    hash_ ^= word + 0x9e3779b97f4a7c15ULL + (hash_ << 6) + (hash_ >> 2);
    hash_ *= 0xff51afd7ed558ccdULL;
    hash_ ^= hash_ >> 32;
  }
  void fold(std::string_view text) { fold(digest(text)); }

  // A step worth telling: folded into the hash and, when capturing, kept whole.
  void record(Instant time, std::string_view node, std::string_view kind, std::string_view detail,
              std::string_view peer = {}, std::uint64_t message_id = 0) {
    fold_record(time, digest(node), digest(kind), digest(detail), digest(peer), message_id);
    if (capturing()) keep(time, node, kind, detail, peer, message_id);
  }

  // The two halves of `record`, for callers that hold some digests already (a node's
  // name, a constant kind). The fields are digested independently (the processor
  // overlaps them) and combined into one word: one fold of the serial chain per record.
  void fold_record(Instant time, std::uint64_t node, std::uint64_t kind, std::uint64_t detail, std::uint64_t peer,
                   std::uint64_t message_id) {
    fold(static_cast<std::uint64_t>(time.ticks) * 0x9fb21c651e98df25ULL + node * 0xc2b2ae3d27d4eb4fULL +
         kind * 0x165667b19e3779f9ULL + detail * 0xd6e8feb86659fd93ULL + peer * 0xa0761d6478bd642fULL +
         message_id * 0xe7037ed1a0b428dbULL);
  }
  void keep(Instant time, std::string_view node, std::string_view kind, std::string_view detail, std::string_view peer,
            std::uint64_t message_id) {
    records_.push_back(
        TraceRecord{time, std::string(node), std::string(kind), std::string(detail), std::string(peer), message_id});
  }

  // A 64-bit digest of a string: eight bytes at a time, little-endian (byte-swapped on
  // a big-endian host so every machine computes the same digest), length included.
  // Usable at compile time, for constant kinds.
  static constexpr std::uint64_t digest(std::string_view text) {
    std::uint64_t state = text.size() * 0x9e3779b97f4a7c15ULL;
    const auto mix = [&state](std::uint64_t chunk) {
      state = (state ^ chunk) * 0xff51afd7ed558ccdULL;
      state ^= state >> 32;
    };
    std::size_t index = 0;
    for (; index + 8 <= text.size(); index += 8) {
      std::uint64_t chunk = 0;
      if (std::is_constant_evaluated()) {
        for (std::size_t byte = 0; byte < 8; ++byte)
          chunk |= std::uint64_t{static_cast<unsigned char>(text[index + byte])} << (8 * byte);
      } else {
        std::memcpy(&chunk, text.data() + index, sizeof chunk);
        if constexpr (std::endian::native == std::endian::big) chunk = __builtin_bswap64(chunk);
      }
      mix(chunk);
    }
    std::uint64_t tail = 0;
    for (std::size_t byte = 0; index + byte < text.size(); ++byte)
      tail |= std::uint64_t{static_cast<unsigned char>(text[index + byte])} << (8 * byte);
    mix(tail);
    return state;
  }

  std::uint64_t hash() const { return hash_; }
  const std::vector<TraceRecord>& records() const { return records_; }

  // The captured records as JSON lines (one object per line, keys in a fixed order).
  std::string json_lines() const;

 private:
  TraceCapture capture_;
  std::uint64_t hash_ = 0x6a09e667f3bcc909ULL;
  std::vector<TraceRecord> records_;
};

std::string hash_hex(std::uint64_t hash);

}  // namespace faultline::sim
