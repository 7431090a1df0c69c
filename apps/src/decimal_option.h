// Integers on the command line are decimal, everywhere. The option parser on its own
// reads C prefixes (0x10 is 16, 010 is 8, 09 fails) and quietly wraps or caps some
// values, so every integer option goes through decimal_in: digits only (leading zeros
// mean nothing: 010 is ten), within the option's range, or one message that says so.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

namespace faultline::app {

// The value of `text` when it is a decimal integer that fits 64 bits, else nothing.
std::optional<std::uint64_t> parse_decimal(std::string_view text);

// A validator for an integer option from `low` to `high`: it refuses anything else
// with "'TEXT' is not a decimal integer from LOW to HIGH" and hands the parser the
// number without leading zeros, which it then cannot read as octal.
CLI::Validator decimal_in(std::uint64_t low, std::uint64_t high);

}  // namespace faultline::app
