// The trace of a run: every step folds a compact record into a 64-bit hash, which is
// how determinism is checked (same scenario, same hash). The full trace, as JSON
// lines, is kept only when asked for (`replay --trace`), so sweeps stay fast.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
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
  void fold(std::string_view text) {
    std::uint64_t word = text.size();
    std::size_t index = 0;
    for (; index + 8 <= text.size(); index += 8) {
      // Eight bytes, little-endian: one load (byte-swapped on a big-endian host so
      // every machine folds the same words).
      std::uint64_t chunk = 0;
      std::memcpy(&chunk, text.data() + index, sizeof chunk);
      if constexpr (std::endian::native == std::endian::big) chunk = __builtin_bswap64(chunk);
      fold(chunk ^ word);
      word = chunk;
    }
    std::uint64_t tail = 0;
    for (std::size_t byte = 0; index + byte < text.size(); ++byte)
      tail |= std::uint64_t{static_cast<unsigned char>(text[index + byte])} << (8 * byte);
    fold(tail ^ word);
  }

  // A step worth telling: folded into the hash and, when capturing, kept whole.
  void record(Instant time, std::string_view node, std::string_view kind, std::string_view detail,
              std::string_view peer = {}, std::uint64_t message_id = 0) {
    fold(static_cast<std::uint64_t>(time.ticks));
    fold(node);
    fold(kind);
    fold(detail);
    fold(peer);
    fold(message_id);
    if (capturing()) {
      records_.push_back(
          TraceRecord{time, std::string(node), std::string(kind), std::string(detail), std::string(peer), message_id});
    }
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
