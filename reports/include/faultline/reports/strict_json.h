// Reading JSON that may be hostile, in time linear in its size. The scenario reader
// (properties) and the report reader (reports) both start here.
//
// nlohmann's parser with a callback rescans an array after each object that ends in
// it, so 200,000 `{}` took most of a minute to refuse. This reader builds the document
// itself from nlohmann's SAX events instead, and refuses, the moment the parser reaches
// it: a NUL byte, a key given twice in one object (looked up in that object only), and
// anything past the caller's limits (nesting depth, entries in one array or object,
// bytes in one string). Each refusal is one line that says where it is
// ("faultline.faults has more than 10000 entries"), so nothing past a limit is ever
// built or walked.
//
// Header-only, because both the properties and the reports layers use it and they share
// only the result types' include folder.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::reports {

struct StrictJsonLimits {
  // Arrays and objects inside one another, the outermost counted as 1.
  std::size_t nesting_max = 32;
  // Entries in any one array or object.
  std::size_t entries_max = 1'000'000;
  // Bytes in any one string or key.
  std::size_t string_bytes_max = std::size_t{1} << 26;
};

// One line that names the problem and where it is.
class StrictJsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace strict_json_detail {

using nlohmann::json;

// Builds the document from SAX events, checking each event against the limits.
class Builder {
 public:
  Builder(std::string root_name, const StrictJsonLimits& limits) : root_name_(std::move(root_name)), limits_(limits) {}

  bool null() { return add(json(nullptr)); }
  bool boolean(bool value) { return add(json(value)); }
  bool number_integer(json::number_integer_t value) { return add(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return add(json(value)); }
  bool number_float(json::number_float_t value, const json::string_t&) { return add(json(value)); }
  bool string(json::string_t& value) {
    if (value.size() > limits_.string_bytes_max)
      return refuse(child_location() + " is a string longer than " + bytes());
    return add(json(std::move(value)));
  }
  bool binary(json::binary_t&) { return refuse(child_location() + " holds binary data, which JSON text cannot"); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool key(json::string_t& name) {
    Frame& frame = frames_.back();
    if (name.size() > limits_.string_bytes_max) return refuse(location() + " has a key longer than " + bytes());
    if (frame.value->size() >= limits_.entries_max) return refuse(too_many_entries());
    if (frame.value->contains(name)) return refuse("the key " + quoted(name) + " appears twice in one object");
    frame.key = std::move(name);
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const json::exception& error) {
    // nlohmann's message names the byte offset; keep just that part.
    const std::string message = error.what();
    const auto found = message.find("parse error");
    return refuse("not valid JSON: " + (found == std::string::npos ? message : message.substr(found)));
  }

  json& document() { return document_; }
  const std::string& problem() const { return problem_; }

 private:
  struct Frame {
    json* value = nullptr;
    std::string key;  // objects: the key of the value that comes next
  };

  bool refuse(std::string message) {
    if (problem_.empty()) problem_ = std::move(message);
    return false;
  }

  bool add(json value) {
    if (frames_.empty()) {
      document_ = std::move(value);
      return true;
    }
    Frame& frame = frames_.back();
    if (frame.value->is_array()) {
      if (frame.value->size() >= limits_.entries_max) return refuse(too_many_entries());
      frame.value->push_back(std::move(value));
    } else {
      (*frame.value)[frame.key] = std::move(value);
    }
    return true;
  }

  json* last_added() {
    if (frames_.empty()) return &document_;
    json& parent = *frames_.back().value;
    return parent.is_array() ? &parent.back() : &parent[frames_.back().key];
  }

  bool open(json empty) {
    if (frames_.size() >= limits_.nesting_max)
      return refuse(location() + " nests deeper than " + std::to_string(limits_.nesting_max) + " levels");
    if (!add(std::move(empty))) return false;
    frames_.push_back(Frame{.value = last_added()});
    return true;
  }

  bool close() {
    frames_.pop_back();
    return true;
  }

  std::string bytes() const { return std::to_string(limits_.string_bytes_max) + " bytes"; }

  std::string too_many_entries() const {
    return location() + " has more than " + std::to_string(limits_.entries_max) + " entries";
  }

  // The path from the document to the value being read: root.key[3].other.
  std::string location() const {
    std::string path = root_name_;
    for (std::size_t depth = 0; depth + 1 < frames_.size(); ++depth) {
      const json& value = *frames_[depth].value;
      path += value.is_array() ? "[" + std::to_string(value.size() - 1) + "]" : "." + shown_key(frames_[depth].key);
    }
    return path;
  }

  // The location of the value being added to the innermost array or object.
  std::string child_location() const {
    if (frames_.empty()) return root_name_;
    const json& value = *frames_.back().value;
    return location() +
           (value.is_array() ? "[" + std::to_string(value.size()) + "]" : "." + shown_key(frames_.back().key));
  }

  static std::string quoted(const std::string& text) {
    constexpr std::size_t shown_bytes_max = 48;
    const bool cut = text.size() > shown_bytes_max;
    return json(cut ? text.substr(0, shown_bytes_max) : text).dump(-1, ' ', false, json::error_handler_t::replace) +
           (cut ? "..." : "");
  }

  static std::string shown_key(const std::string& key) {
    const bool plain = !key.empty() && key.size() <= 48 &&
                       key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
    return plain ? key : quoted(key);
  }

  std::string root_name_;
  StrictJsonLimits limits_;
  json document_;
  std::vector<Frame> frames_;
  std::string problem_;
};

}  // namespace strict_json_detail

// Parses `text` as one JSON document within `limits`; `root_name` names the document
// in messages ("scenario", "report"). Throws StrictJsonError with a one-line message.
inline nlohmann::json parse_json_strictly(std::string_view text, const std::string& root_name,
                                          const StrictJsonLimits& limits) {
  if (text.find('\0') != std::string_view::npos) throw StrictJsonError("not valid JSON: the file contains a NUL byte");
  strict_json_detail::Builder builder(root_name, limits);
  const bool parsed = nlohmann::json::sax_parse(text, &builder, nlohmann::json::input_format_t::json, true);
  if (!parsed) throw StrictJsonError(builder.problem().empty() ? "not valid JSON" : builder.problem());
  return std::move(builder.document());
}

}  // namespace faultline::reports
