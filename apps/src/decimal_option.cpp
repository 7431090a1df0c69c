// Decimal integer options: see decimal_option.h.
#include "decimal_option.h"

#include <limits>
#include <string>

namespace faultline::app {
namespace {

// Command-line text quoted in a message: cut short, control characters shown as '?',
// so the message stays one line whatever was typed.
std::string shown_argument(std::string_view text) {
  constexpr std::size_t shown_bytes_max = 40;
  std::string out;
  for (const char c : text.substr(0, shown_bytes_max))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return "'" + out + (text.size() > shown_bytes_max ? "...'" : "'");
}

}  // namespace

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (const char digit : text) {
    if (digit < '0' || digit > '9') return std::nullopt;
    const auto next = static_cast<std::uint64_t>(digit - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - next) / 10) return std::nullopt;
    value = value * 10 + next;
  }
  return value;
}

CLI::Validator decimal_in(std::uint64_t low, std::uint64_t high) {
  const std::string range = std::to_string(low) + " to " + std::to_string(high);
  return CLI::Validator(
      [low, high, range](std::string& text) -> std::string {
        const auto value = parse_decimal(text);
        if (!value || *value < low || *value > high)
          return shown_argument(text) + " is not a decimal integer from " + range;
        text = std::to_string(*value);
        return {};
      },
      "INTEGER");
}

}  // namespace faultline::app
