// JSON-lines rendering of a captured trace. Written by hand because the kernel
// depends on nothing but Boost.Asio.
#include "faultline/sim/trace.h"

#include <cstdio>

namespace faultline::sim {
namespace {

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += escaped;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string Trace::json_lines() const {
  std::string out;
  for (const TraceRecord& record : records_) {
    out += "{\"time_us\":";
    out += std::to_string(record.time.ticks);
    out += ",\"node\":";
    append_json_string(out, record.node);
    out += ",\"kind\":";
    append_json_string(out, record.kind);
    out += ",\"detail\":";
    append_json_string(out, record.detail);
    if (!record.peer.empty()) {
      out += ",\"peer\":";
      append_json_string(out, record.peer);
    }
    if (record.message_id != 0) {
      out += ",\"message\":";
      out += std::to_string(record.message_id);
    }
    out += "}\n";
  }
  return out;
}

std::string hash_hex(std::uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

}  // namespace faultline::sim
