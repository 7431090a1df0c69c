// The timeline page: see timeline.h.
//
// Layout, top to bottom: the header (title, verdict, replay command, story, legend),
// then the diagram. In the diagram each node is a vertical lane and time flows down.
// The vertical scale is linear around the typical message latency (so an arrow's
// slope means something), distinct instants are kept a few pixels apart so they stay
// readable, and a gap longer than a few latencies is cut out and labelled with the
// time it skipped. Long runs of routine exchanges between two nodes (a consumer
// polling an idle broker) are folded into one band that says how many messages it
// hides. Everything is computed from the input alone, in input order, so the page is
// a pure function of the run.
#include "faultline/reports/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

namespace faultline::reports {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char character : text) {
    switch (character) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += character;
    }
  }
  return out;
}

namespace {

bool is_word_character(char character) {
  return (character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') ||
         (character >= '0' && character <= '9') || character == '_';
}

}  // namespace

bool contains_word(const std::string& text, const std::string& word) {
  if (word.empty()) return false;
  for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !is_word_character(text[at - 1]);
    const std::size_t end = at + word.size();
    const bool ends = end == text.size() || !is_word_character(text[end]);
    if (starts && ends) return true;
  }
  return false;
}

namespace {

// The node a call is addressed to, by its name ("db.commit" is served by "db").
std::string callee_of(const std::string& detail) {
  return detail.substr(0, detail.find('.'));
}

}  // namespace

void mark_causal_chain(std::vector<TimelineRecord>& records, const std::vector<std::uint64_t>& message_ids) {
  // The records of one simulation step are contiguous: a step starts with what woke
  // the node (a delivery, a timeout, a restart, ...) and goes on with what the node
  // did at once (points, notes, sends). A step is marked when it handles a marked
  // message, when it sends the reply to a marked request, when one of its records was
  // marked by the caller, or when a timer starts it to send again a call whose only
  // unanswered attempts are marked (a retry); each send of a marked step marks its
  // message.
  using Call = std::tuple<std::string, std::string, std::string>;  // (from, to, call name)
  std::set<std::uint64_t> marked(message_ids.begin(), message_ids.end());
  // Callee side: requests delivered and not answered yet, oldest first. A reply
  // answers the oldest (calls are served in order as far as the trace can tell).
  std::map<Call, std::vector<std::uint64_t>> waiting;
  std::map<std::uint64_t, std::uint64_t> request_of_reply;
  // Caller side: requests sent and not answered yet, and when each node last gave up
  // on a call (a timeout or a refusal), by record index.
  std::map<Call, std::vector<std::uint64_t>> unanswered;
  std::map<std::uint64_t, std::size_t> sent_at;
  std::map<std::string, std::size_t> gave_up_at;
  std::size_t step_start = 0;
  bool step_marked = false;
  auto mark_step = [&](std::size_t until) {
    step_marked = true;
    for (std::size_t index = step_start; index <= until; ++index) {
      records[index].emphasis = Emphasis::violation;
      if (records[index].kind == "send") marked.insert(records[index].message_id);
    }
  };
  for (std::size_t index = 0; index < records.size(); ++index) {
    TimelineRecord& record = records[index];
    const TimelineRecord* previous = index > 0 ? &records[index - 1] : nullptr;
    const bool drop_at_send = record.kind == "drop" && previous != nullptr && previous->kind == "send" &&
                              previous->message_id == record.message_id;
    const bool starts_step = previous == nullptr || previous->time_us != record.time_us ||
                             previous->node != record.node || record.kind == "deliver" || record.kind == "timeout" ||
                             record.kind == "restart" || record.kind == "resume" || record.kind == "boot" ||
                             record.kind == "crash" || (record.kind == "drop" && !drop_at_send);
    if (starts_step) {
      step_start = index;
      step_marked = false;
    }
    const bool has_message = record.message_id != 0 && (record.kind == "send" || record.kind == "deliver");
    const bool of_marked_message = has_message && marked.count(record.message_id) > 0;
    bool marks_step = record.emphasis == Emphasis::violation || (record.kind == "deliver" && of_marked_message);
    if (record.kind == "lose-response" && callee_of(record.detail) == record.node) {
      // The callee's reply, lost before it was sent: it answers a request all the same,
      // the oldest waiting from any caller (the trace does not name the caller).
      std::vector<std::uint64_t>* oldest = nullptr;
      for (auto& [call, queue] : waiting) {
        if (std::get<0>(call) != record.node || std::get<2>(call) != record.detail || queue.empty()) continue;
        if (oldest == nullptr || queue.front() < oldest->front()) oldest = &queue;
      }
      if (oldest != nullptr) {
        marks_step = marks_step || marked.count(oldest->front()) > 0;
        oldest->erase(oldest->begin());
      }
    } else if (has_message && callee_of(record.detail) == record.node) {
      // A request delivered to its callee, or the callee's reply.
      auto& queue = waiting[{record.node, record.peer, record.detail}];
      if (record.kind == "deliver") queue.push_back(record.message_id);
      if (record.kind == "send" && !queue.empty()) {
        marks_step = marks_step || marked.count(queue.front()) > 0;
        request_of_reply[record.message_id] = queue.front();
        queue.erase(queue.begin());
      }
    } else if (has_message && callee_of(record.detail) == record.peer) {
      // A request sent by its caller, or the reply coming back to it.
      auto& open = unanswered[{record.node, record.peer, record.detail}];
      if (record.kind == "send") {
        // A retry: a timer starts it after the node gave up on its last attempt, and
        // every attempt still unanswered is marked.
        const auto gave_up = gave_up_at.find(record.node);
        const bool after_giving_up =
            !open.empty() && gave_up != gave_up_at.end() && gave_up->second > sent_at[open.back()];
        const bool only_marked_open =
            std::all_of(open.begin(), open.end(), [&](std::uint64_t id) { return marked.count(id) > 0; });
        marks_step = marks_step || (starts_step && after_giving_up && only_marked_open);
        open.push_back(record.message_id);
        sent_at[record.message_id] = index;
      }
      if (record.kind == "deliver") {
        const auto answered = request_of_reply.find(record.message_id);
        if (answered != request_of_reply.end()) std::erase(open, answered->second);
      }
    }
    if (record.kind == "timeout" || record.kind == "refused") gave_up_at[record.node] = index;
    if (marks_step && !step_marked) mark_step(index);
    if (step_marked) {
      record.emphasis = Emphasis::violation;
      if (record.kind == "send") marked.insert(record.message_id);
    }
    if (record.message_id != 0 && marked.count(record.message_id) > 0) record.emphasis = Emphasis::violation;
  }
  // A message marked after some of its records went by (a reply marked late) marks them too.
  for (auto& record : records)
    if (record.message_id != 0 && marked.count(record.message_id) > 0) record.emphasis = Emphasis::violation;
}

namespace {

// ---- Geometry and style constants (pixels) ----

constexpr double gutter_width = 118;   // the time axis, left of the first lane
constexpr double diagram_top = 18;     // first instant, below the sticky lane header
constexpr double latency_height = 34;  // the typical message latency, drawn this tall
constexpr double step_min = 14;        // two distinct instants are at least this far apart
constexpr double step_max = 84;        // a longer gap is cut out of the axis
constexpr double cut_height = 30;      // the height of a cut gap
constexpr double fold_height = 40;     // the height of a folded band
constexpr double label_line = 12;      // the height of one line of a label
constexpr double time_label_spacing = 26;
constexpr std::size_t fold_keep_head = 8;  // records of a folded run still drawn before the band
constexpr std::size_t fold_keep_tail = 4;  // and after it
constexpr std::size_t routine_after = 8;   // a call two nodes exchanged this often is routine
constexpr std::size_t wrap_columns = 30;

std::string number(double value) {
  return fmt::format("{:.1f}", value);
}

std::string with_separators(std::uint64_t value);

// "5,509.036 ms": milliseconds with three decimals, thousands separated.
std::string milliseconds(std::int64_t time_us) {
  const std::uint64_t magnitude = time_us < 0 ? 0 - static_cast<std::uint64_t>(time_us) : time_us;
  return fmt::format("{}{}.{:03d} ms", time_us < 0 ? "-" : "", with_separators(magnitude / 1000), magnitude % 1000);
}

std::string with_separators(std::uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (std::size_t index = 0; index < digits.size(); ++index) {
    if (index > 0 && (digits.size() - index) % 3 == 0) out += ',';
    out += digits[index];
  }
  return out;
}

std::string plural(std::uint64_t count, std::string_view one, std::string_view many) {
  return with_separators(count) + " " + std::string(count == 1 ? one : many);
}

// Splits text into lines of at most `columns` characters at spaces (a longer word
// stays whole), at most `lines_max` lines, the last one ending in an ellipsis when cut.
std::vector<std::string> wrap(const std::string& text, std::size_t columns, std::size_t lines_max) {
  std::vector<std::string> lines;
  std::string line;
  std::size_t start = 0;
  bool cut = false;
  while (start <= text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > columns) {
      if (lines.size() + 1 == lines_max) {
        cut = true;
        break;
      }
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  if (cut) line += " …";
  if (!line.empty()) lines.push_back(line);
  return lines;
}

bool is_message_kind(const std::string& kind) {
  return kind == "send" || kind == "deliver" || kind == "drop";
}

// A model's own note ("service.publish-failed"): its kind is a dotted name.
bool is_model_note(const std::string& kind) {
  return kind.find('.') != std::string::npos;
}

// Message colours by the node a call is addressed to (the detail's prefix).
struct Palette {
  const char* name;
  const char* colour;
};
constexpr Palette palettes[] = {{"client", "#4b5563"}, {"service", "#7c3aed"},  {"db", "#2563eb"},
                                {"broker", "#0f766e"}, {"consumer", "#c2410c"}, {"other", "#475569"}};
constexpr const char* alarm_colour = "#e11d48";
constexpr const char* drop_colour = "#dc2626";

std::size_t palette_for(const std::string& detail) {
  const std::string prefix = detail.substr(0, detail.find('.'));
  for (std::size_t index = 0; index + 1 < std::size(palettes); ++index)
    if (prefix == palettes[index].name || prefix.rfind(std::string(palettes[index].name) + "-", 0) == 0) return index;
  return std::size(palettes) - 1;
}

enum class Shown { drawn, folded, hidden };

// A stretch of routine messages and nothing else, drawn as one band.
struct Fold {
  std::size_t first = 0;                                                       // first folded record
  std::size_t last = 0;                                                        // last folded record
  std::map<std::pair<std::string, std::string>, std::set<std::string>> calls;  // node pair -> call names
  std::uint64_t messages = 0;
  double top = 0, bottom = 0;
};

struct Cut {
  double top = 0, bottom = 0;
  std::int64_t skipped_us = 0;
};

struct TimeLabel {
  double y = 0;
  std::int64_t time_us = 0;
};

// One message, from its records.
struct Message {
  std::optional<std::size_t> send;
  std::vector<std::size_t> delivers;
  std::vector<std::size_t> drops;

  // Whether the page shows where the message ended (delivered or dropped).
  bool ends_shown(const std::vector<Shown>& shown) const {
    for (const std::size_t index : delivers)
      if (shown[index] != Shown::hidden) return true;
    for (const std::size_t index : drops)
      if (shown[index] != Shown::hidden) return true;
    return false;
  }
};

// A vertical stack of labels beside one lane, so labels never overlap each other.
struct LabelStack {
  double free_y = -1e9;
  // Where a label of `lines` lines wanted at `y` goes.
  double place(double y, std::size_t lines) {
    const double at = std::max(y, free_y);
    free_y = at + static_cast<double>(lines) * label_line + 2;
    return at;
  }
};

class Renderer {
 public:
  Renderer(const TimelineInput& input, const TimelineLimits& limits) : input_(input), limits_(limits) {}

  std::string render() {
    assign_lanes();
    index_messages();
    assign_emphasis();
    find_folds();
    choose_shown();
    lay_out_time();
    std::string svg = draw_diagram();
    return page(svg);
  }

 private:
  const TimelineInput& input_;
  const TimelineLimits& limits_;
  const std::vector<TimelineRecord>& records() const { return input_.records; }

  std::vector<std::string> lanes_;
  std::map<std::string, std::size_t> lane_index_;
  double lane_width_ = 200;
  std::map<std::uint64_t, Message> messages_;
  std::vector<bool> emphasised_;
  std::vector<Fold> folds_;
  std::vector<std::optional<std::size_t>> fold_of_;  // record -> fold
  std::vector<Shown> shown_;
  std::vector<double> y_;
  std::vector<Cut> cuts_;
  std::vector<TimeLabel> time_labels_;
  double bottom_ = diagram_top;
  std::uint64_t messages_capped_ = 0;
  std::uint64_t messages_folded_ = 0;
  std::size_t records_cut_ = 0;
  std::optional<std::size_t> cap_record_;  // the first record not drawn because of the message cap
  std::optional<std::size_t> truncated_at_;
  std::int64_t median_latency_us_ = 0;
  std::size_t highlighted_ = 0;

  // ---- Lanes ----

  void add_lane(const std::string& node) {
    if (node.empty() || lane_index_.count(node) > 0) return;
    lane_index_[node] = lanes_.size();
    lanes_.push_back(node);
  }

  void assign_lanes() {
    for (const auto& lane : input_.lanes) add_lane(lane);
    for (const auto& record : records()) {
      add_lane(record.node);
      if (is_message_kind(record.kind)) add_lane(record.peer);
    }
    if (lanes_.empty()) add_lane("(no nodes)");
    lane_width_ = std::clamp(1240.0 / static_cast<double>(lanes_.size()), 150.0, 210.0);
  }

  double lane_x(const std::string& node) const {
    const auto found = lane_index_.find(node);
    assert(found != lane_index_.end());
    return gutter_width + lane_width_ * (static_cast<double>(found->second) + 0.5);
  }
  double width() const { return gutter_width + lane_width_ * static_cast<double>(lanes_.size()) + 24; }

  // ---- Messages, emphasis, folds, caps ----

  void index_messages() {
    for (std::size_t index = 0; index < records().size(); ++index) {
      const auto& record = records()[index];
      if (record.message_id == 0 || !is_message_kind(record.kind)) continue;
      Message& message = messages_[record.message_id];
      if (record.kind == "send" && !message.send) message.send = index;
      if (record.kind == "deliver") message.delivers.push_back(index);
      if (record.kind == "drop") message.drops.push_back(index);
    }
  }

  void assign_emphasis() {
    emphasised_.assign(records().size(), false);
    std::set<std::uint64_t> emphasised_messages;
    for (std::size_t index = 0; index < records().size(); ++index) {
      const auto& record = records()[index];
      bool marked = record.emphasis == Emphasis::violation;
      for (const auto& term : input_.highlight_terms) marked = marked || contains_word(record.detail, term);
      emphasised_[index] = marked;
      if (marked && record.message_id != 0 && is_message_kind(record.kind))
        emphasised_messages.insert(record.message_id);
    }
    for (std::size_t index = 0; index < records().size(); ++index) {
      const auto& record = records()[index];
      if (record.message_id != 0 && is_message_kind(record.kind) && emphasised_messages.count(record.message_id) > 0)
        emphasised_[index] = true;
      if (emphasised_[index]) ++highlighted_;
    }
  }

  std::pair<std::string, std::string> pair_of(std::size_t index) const {
    const auto& record = records()[index];
    return std::minmax(record.node, record.peer);
  }

  // Routine records: sends and deliveries of a call the same two nodes have already
  // exchanged many times (polls, heartbeats), not highlighted. A rare call (a publish)
  // is never routine, so a fold never hides it.
  std::vector<bool> routine_records() const {
    std::vector<bool> routine(records().size(), false);
    std::map<std::tuple<std::string, std::string, std::string>, std::size_t> seen;
    for (std::size_t index = 0; index < records().size(); ++index) {
      const auto& record = records()[index];
      if ((record.kind != "send" && record.kind != "deliver") || record.message_id == 0 || record.peer.empty())
        continue;
      const auto [first, second] = pair_of(index);
      const std::size_t times = seen[{first, second, record.detail}]++;
      routine[index] = times >= routine_after && !emphasised_[index];
    }
    return routine;
  }

  void find_folds() {
    fold_of_.assign(records().size(), std::nullopt);
    const std::vector<bool> routine = routine_records();
    std::size_t start = 0;
    while (start < records().size()) {
      if (!routine[start]) {
        ++start;
        continue;
      }
      std::size_t end = start + 1;
      while (end < records().size() && routine[end]) ++end;
      if (end - start >= limits_.fold_records_min && end - start > fold_keep_head + fold_keep_tail) {
        Fold fold;
        fold.first = start + fold_keep_head;
        fold.last = end - fold_keep_tail - 1;
        for (std::size_t index = fold.first; index <= fold.last; ++index) {
          fold_of_[index] = folds_.size();
          fold.calls[pair_of(index)].insert(records()[index].detail);
          if (records()[index].kind == "send") ++fold.messages;
        }
        messages_folded_ += fold.messages;
        folds_.push_back(std::move(fold));
      }
      start = end;
    }
  }

  void choose_shown() {
    shown_.assign(records().size(), Shown::hidden);
    std::set<std::uint64_t> drawn_messages;
    std::set<std::uint64_t> folded_messages;
    std::size_t drawn_records = 0;
    for (std::size_t index = 0; index < records().size(); ++index) {
      const auto& record = records()[index];
      if (drawn_records >= limits_.records_max) {
        if (!truncated_at_) truncated_at_ = index;
        ++records_cut_;
        continue;
      }
      if (fold_of_[index]) {
        shown_[index] = Shown::folded;
        if (record.kind == "send") folded_messages.insert(record.message_id);
        continue;
      }
      if (is_message_kind(record.kind) && record.message_id != 0) {
        if (record.kind == "send" && drawn_messages.count(record.message_id) == 0 &&
            folded_messages.count(record.message_id) == 0) {
          if (drawn_messages.size() >= limits_.messages_max) {
            if (!cap_record_) cap_record_ = index;
            ++messages_capped_;
            continue;
          }
          drawn_messages.insert(record.message_id);
        }
        const bool known = drawn_messages.count(record.message_id) > 0 || folded_messages.count(record.message_id) > 0;
        if (!known) continue;
      }
      shown_[index] = Shown::drawn;
      ++drawn_records;
    }
  }

  // ---- Time axis ----

  void lay_out_time() {
    // The typical latency sets the scale: the median over drawn deliveries.
    std::vector<std::int64_t> latencies;
    for (const auto& [id, message] : messages_) {
      if (!message.send || shown_[*message.send] != Shown::drawn) continue;
      for (const std::size_t deliver : message.delivers)
        if (shown_[deliver] == Shown::drawn)
          latencies.push_back(records()[deliver].time_us - records()[*message.send].time_us);
    }
    std::sort(latencies.begin(), latencies.end());
    median_latency_us_ = latencies.empty() ? 1'000 : std::max<std::int64_t>(latencies[latencies.size() / 2], 1);
    const double pixels_per_us = latency_height / static_cast<double>(median_latency_us_);

    y_.assign(records().size(), 0);
    bool started = false;
    bool after_band = false;
    std::int64_t now_us = 0;
    double y = diagram_top;
    double last_label_y = -1e9;
    auto advance_to = [&](std::int64_t time_us) {
      if (!started) {
        started = true;
        now_us = time_us;
        return;
      }
      if (time_us == now_us && !after_band) return;
      const std::int64_t gap = std::max<std::int64_t>(time_us - now_us, 0);
      const double height = static_cast<double>(gap) * pixels_per_us;
      if (height > step_max) {
        cuts_.push_back(Cut{.top = y, .bottom = y + cut_height, .skipped_us = gap});
        y += cut_height;
        last_label_y = -1e9;  // the far side of a cut is labelled again
      } else {
        y += std::max(height, step_min);
      }
      now_us = time_us;
      after_band = false;
    };
    auto label_time = [&](double at, std::int64_t time_us) {
      if (at - last_label_y < time_label_spacing) return;
      time_labels_.push_back(TimeLabel{.y = at, .time_us = time_us});
      last_label_y = at;
    };

    for (std::size_t index = 0; index < records().size(); ++index) {
      const auto& record = records()[index];
      if (shown_[index] == Shown::folded) {
        Fold& fold = folds_[*fold_of_[index]];
        if (index == fold.first) {
          advance_to(record.time_us);
          label_time(y, record.time_us);
          fold.top = y;
          fold.bottom = y + fold_height;
          y = fold.bottom;
          now_us = records()[fold.last].time_us;
          after_band = true;
          label_time(y, now_us);
        }
        y_[index] = record.kind == "send" ? fold.bottom : fold.top;
        continue;
      }
      if (shown_[index] != Shown::drawn) continue;
      advance_to(record.time_us);
      y_[index] = y;
      label_time(y, record.time_us);
    }
    bottom_ = y;
  }

  // ---- Drawing ----

  std::string title_element(const std::string& text) const { return "<title>" + html_escape(text) + "</title>"; }

  std::string describe(const TimelineRecord& record) const {
    std::string text = milliseconds(record.time_us) + "  ";
    if (!record.node.empty()) text += record.node + ": ";
    text += record.kind;
    if (!record.detail.empty()) text += " " + record.detail;
    return text;
  }

  // A label beside a lane: `side` is +1 (right of the lane) or -1 (left).
  std::string lane_label(LabelStack& stack, double x, double y, int side, const std::vector<std::string>& lines,
                         const std::string& css_class, double drift_max = 1e9) const {
    const double at = stack.place(y, lines.size());
    if (at - y > drift_max) return {};
    std::string out;
    const double text_x = x + side * 10.0;
    if (at - y > 2) {
      out += fmt::format(R"(<path class="leader" d="M{} {} L{} {}"/>)", number(x + side * 4.0), number(y),
                         number(text_x - side * 2.0), number(at + 3));
    }
    out += fmt::format(R"(<text class="{}" x="{}" y="{}" text-anchor="{}">)", css_class, number(text_x), number(at + 4),
                       side > 0 ? "start" : "end");
    for (std::size_t line = 0; line < lines.size(); ++line) {
      out += fmt::format(R"(<tspan x="{}" dy="{}">{}</tspan>)", number(text_x), line == 0 ? "0" : number(label_line),
                         html_escape(lines[line]));
    }
    out += "</text>";
    return out;
  }

  std::string draw_diagram() {
    const double height = bottom_ + 70;
    const double lanes_left = gutter_width;
    const double lanes_right = width() - 24;
    std::string background, spans, annotations, bands, arrows, emphasised_arrows, marks, labels;

    // Phases: everything after the liveness record is tinted.
    for (std::size_t index = 0; index < records().size(); ++index) {
      const auto& record = records()[index];
      if (shown_[index] != Shown::drawn || record.kind != "liveness") continue;
      background +=
          fmt::format(R"(<rect class="liveness-phase" x="{}" y="{}" width="{}" height="{}"/>)", number(lanes_left),
                      number(y_[index]), number(lanes_right - lanes_left), number(bottom_ + 30 - y_[index]));
    }
    for (const Cut& cut : cuts_) {
      background += fmt::format(R"(<rect class="cut" x="{}" y="{}" width="{}" height="{}"/>)", number(8),
                                number(cut.top + 7), number(lanes_right - 8), number(cut.bottom - cut.top - 14));
      background += fmt::format(R"(<text class="cut-label" x="{}" y="{}" text-anchor="end">+{}</text>)",
                                number(gutter_width - 22), number((cut.top + cut.bottom) / 2 + 4),
                                html_escape(milliseconds(cut.skipped_us)));
    }

    // Lanes, with the spans a node was down or paused.
    for (const auto& lane : lanes_) {
      background += fmt::format(R"(<line class="lane" x1="{0}" y1="0" x2="{0}" y2="{1}"/>)", number(lane_x(lane)),
                                number(bottom_ + 30));
    }
    struct Open {
      double y = 0;
      std::string detail;
    };
    std::map<std::string, Open> down, paused;
    auto close_span = [&](std::map<std::string, Open>& open, const std::string& node, double until, bool down_span) {
      const auto found = open.find(node);
      if (found == open.end()) return;
      const double x = lane_x(node);
      const double top = found->second.y;
      if (down_span) {
        spans += fmt::format(R"(<g class="down"><rect x="{}" y="{}" width="24" height="{}" rx="3"/>)", number(x - 12),
                             number(top), number(std::max(until - top, 2.0)));
        spans += fmt::format(R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>{3}</g>)", number(x), number(top),
                             number(until), title_element(node + " is down (crashed) here"));
      } else {
        spans += fmt::format(R"(<g class="paused"><rect x="{}" y="{}" width="18" height="{}" rx="3"/>{}</g>)",
                             number(x - 9), number(top), number(std::max(until - top, 2.0)),
                             title_element(node + " is paused here (" + found->second.detail + ")"));
      }
      open.erase(found);
    };

    std::vector<LabelStack> right(lanes_.size()), left(lanes_.size());
    LabelStack global_labels;
    std::vector<double> partitions_open;
    std::vector<std::pair<double, double>> partition_bars;
    bool first_emphasis = true;

    for (std::size_t index = 0; index < records().size(); ++index) {
      if (shown_[index] != Shown::drawn) continue;
      const auto& record = records()[index];
      const double y = y_[index];
      const bool alarm = emphasised_[index];
      std::string anchor;
      if (alarm && first_emphasis) {
        anchor = R"( id="first-highlight")";
        first_emphasis = false;
      }

      if (record.node.empty()) {
        // The simulator's own records span every lane.
        std::string css = "global";
        if (record.kind == "fault") css = "global fault";
        if (record.kind == "heal") css = "global heal";
        if (record.kind == "liveness") css = "global liveness";
        if (record.kind == "fault" && record.detail.rfind("partition", 0) == 0) partitions_open.push_back(y);
        if (record.kind == "heal" && !partitions_open.empty()) {
          partition_bars.emplace_back(partitions_open.front(), y);
          partitions_open.erase(partitions_open.begin());
        }
        std::string text = record.kind == "fault"      ? "⚡ " + record.detail
                           : record.kind == "liveness" ? "liveness phase: " + record.detail
                                                       : record.kind + ": " + record.detail;
        const double at = global_labels.place(y, 1);
        // The line goes under the arrows, its text over them.
        annotations +=
            fmt::format(R"(<g class="{}"{}><line x1="{}" y1="{}" x2="{}" y2="{}"/>{}</g>)", css, anchor,
                        number(lanes_left), number(y), number(lanes_right), number(y), title_element(describe(record)));
        labels +=
            fmt::format(R"(<g class="{} global-label"><text x="{}" y="{}">{}{}</text></g>)", css,
                        number(lanes_left + 6), number(at - 4), html_escape(text), title_element(describe(record)));
        continue;
      }

      const std::size_t lane = lane_index_.at(record.node);
      const double x = lane_x(record.node);
      const std::string tooltip = title_element(describe(record));
      const std::string alarm_class = alarm ? " alarm" : "";

      if (record.kind == "send" || record.kind == "deliver" || record.kind == "drop") {
        if (record.message_id == 0) continue;
        const Message& message = messages_.at(record.message_id);
        std::string& out = alarm ? emphasised_arrows : arrows;
        // A message is drawn from where it ended; one that never arrived in the trace
        // (in flight when the run ended) is a stub from its send.
        if (record.kind != "send") {
          out += message_arrow(record, message, index, alarm, anchor);
        } else if (!message.ends_shown(shown_) && lane_index_.count(record.peer) > 0) {
          const double x_end = x + (lane_x(record.peer) - x) * 0.25;
          out += fmt::format(
              R"svg(<g class="msg in-flight{}"{}><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/><circle cx="{}" cy="{}" r="3"/>{}</g>)svg",
              alarm_class, anchor, number(x), number(y), number(x_end), number(y + 6),
              alarm ? alarm_colour : palettes[palette_for(record.detail)].colour, number(x_end), number(y + 6),
              title_element(describe(record) + " to " + record.peer + " (message " + std::to_string(record.message_id) +
                            "): not delivered by the end of the trace"));
        }
        continue;
      }

      if (record.kind == "point") {
        marks += fmt::format(R"(<g class="point{}"{}><line x1="{}" y1="{}" x2="{}" y2="{}"/>{}</g>)", alarm_class,
                             anchor, number(x - 7), number(y), number(x + 7), number(y), tooltip);
        labels +=
            lane_label(left[lane], x, y, -1, {record.detail}, "label point-label" + alarm_class, alarm ? 1e9 : 30);
      } else if (record.kind == "timeout") {
        marks += fmt::format(R"(<g class="timeout{}"{}><circle cx="{}" cy="{}" r="4"/>{}</g>)", alarm_class, anchor,
                             number(x), number(y),
                             title_element(milliseconds(record.time_us) + "  " + record.node +
                                           ": timeout (a call got no reply in time)"));
        labels += lane_label(left[lane], x, y, -1, {"timeout"}, "label timeout-label", 24);
      } else if (record.kind == "crash") {
        close_span(paused, record.node, y, false);
        down[record.node] = Open{y, record.detail};
        marks += fmt::format(
            R"(<g class="crash"{}><path d="M{} {} L{} {} M{} {} L{} {}"/>{}</g>)", anchor, number(x - 8), number(y - 8),
            number(x + 8), number(y + 8), number(x - 8), number(y + 8), number(x + 8), number(y - 8),
            title_element(describe(record) + " (" + record.node + " crashes: it loses its memory and unsynced disk)"));
        labels += lane_label(right[lane], x + 4, y, +1, {"crash"}, "label crash-label");
      } else if (record.kind == "restart") {
        close_span(down, record.node, y, true);
        marks += fmt::format(R"(<g class="restart"{}><circle cx="{}" cy="{}" r="6"/>{}</g>)", anchor, number(x),
                             number(y), tooltip);
        labels += lane_label(right[lane], x + 2, y, +1, {"restart"}, "label restart-label");
      } else if (record.kind == "pause") {
        paused[record.node] = Open{y, record.detail};
        const TimelineRecord* previous = index > 0 ? &records()[index - 1] : nullptr;
        const bool told_by_fault = previous != nullptr && previous->kind == "fault" && previous->node == record.node &&
                                   previous->time_us == record.time_us;
        if (!told_by_fault)
          labels += lane_label(right[lane], x, y, +1, {"pause " + record.detail}, "label pause-label");
      } else if (record.kind == "resume") {
        close_span(paused, record.node, y, false);
        labels += lane_label(right[lane], x, y, +1, {"resume"}, "label pause-label", 30);
      } else if (record.kind == "boot") {
        continue;  // a restart says it already; the first boot is the top of the lane
      } else if (record.kind == "fault") {
        marks += fmt::format(R"(<g class="fault{}"{}><path d="M{} {} L{} {} L{} {} L{} {} Z"/>{}</g>)", alarm_class,
                             anchor, number(x), number(y - 6), number(x + 6), number(y), number(x), number(y + 6),
                             number(x - 6), number(y), tooltip);
        labels += lane_label(right[lane], x + 2, y, +1, wrap("⚡ " + record.detail, wrap_columns, 3),
                             "label fault-label" + alarm_class);
      } else if (record.kind == "lose-response") {
        marks += fmt::format(
            R"(<g class="lost-reply"{}><circle cx="{}" cy="{}" r="5"/><path d="M{} {} L{} {}"/>{}</g>)", anchor,
            number(x), number(y), number(x - 3.5), number(y + 3.5), number(x + 3.5), number(y - 3.5),
            title_element(describe(record) + " (the reply was lost: the caller never hears back)"));
        labels += lane_label(right[lane], x + 2, y, +1, wrap("reply lost: " + record.detail, wrap_columns, 2),
                             "label lost-label" + alarm_class);
      } else if (record.kind == "refused") {
        marks += fmt::format(R"(<g class="refused{}"{}><rect x="{}" y="{}" width="8" height="8"/>{}</g>)", alarm_class,
                             anchor, number(x - 4), number(y - 4), tooltip);
        labels += lane_label(right[lane], x + 2, y, +1, {"refused by " + record.detail}, "label refused-label", 30);
      } else if (is_model_note(record.kind)) {
        const std::string text = record.kind + (record.detail.empty() ? "" : " " + record.detail);
        marks += fmt::format(R"(<g class="note{}"{}><circle cx="{}" cy="{}" r="{}"/>{}</g>)", alarm_class, anchor,
                             number(x), number(y), alarm ? "7" : "5", tooltip);
        labels += lane_label(right[lane], x + 2, y, +1, wrap(text, wrap_columns, 2), "label note-label" + alarm_class);
      } else {
        marks += fmt::format(R"(<g class="other{}"{}><circle cx="{}" cy="{}" r="3"/>{}</g>)", alarm_class, anchor,
                             number(x), number(y), tooltip);
        labels += lane_label(right[lane], x, y, +1, wrap(record.kind + " " + record.detail, wrap_columns, 2),
                             "label" + alarm_class, 30);
      }
    }
    // Spans still open at the end of the diagram run to its bottom.
    while (!down.empty()) close_span(down, down.begin()->first, bottom_ + 30, true);
    while (!paused.empty()) close_span(paused, paused.begin()->first, bottom_ + 30, false);
    for (const double top : partitions_open) partition_bars.emplace_back(top, bottom_ + 30);
    for (const auto& [top, until] : partition_bars) {
      annotations += fmt::format(R"(<line class="partition-bar" x1="{0}" y1="{1}" x2="{0}" y2="{2}">{3}</line>)",
                                 number(gutter_width - 10), number(top), number(until),
                                 "<title>a partition is in force here</title>");
    }

    for (const Fold& fold : folds_) {
      double left_x = width();
      double right_x = 0;
      std::string details;
      for (const auto& [pair, calls] : fold.calls) {
        for (const auto* node : {&pair.first, &pair.second}) {
          left_x = std::min(left_x, lane_x(*node) - 30);
          right_x = std::max(right_x, lane_x(*node) + 30);
        }
        details += (details.empty() ? "" : "; ") + pair.first + " ⇄ " + pair.second + ":";
        for (const auto& call : calls) details += " " + call;
      }
      const std::string first_line = "⋯ " + plural(fold.messages, "routine message", "routine messages") + " folded ⋯";
      bands += fmt::format(R"(<g class="fold"><rect x="{}" y="{}" width="{}" height="{}" rx="7"/>)", number(left_x),
                           number(fold.top + 3), number(right_x - left_x), number(fold.bottom - fold.top - 6));
      bands += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">{}</text>)", number((left_x + right_x) / 2),
                           number(fold.top + 17), html_escape(first_line));
      bands += fmt::format(R"(<text class="fold-details" x="{}" y="{}" text-anchor="middle">{}</text>)",
                           number((left_x + right_x) / 2), number(fold.top + 30),
                           html_escape(wrap(details, static_cast<std::size_t>((right_x - left_x) / 6.2), 1).front()));
      bands += title_element(plural(fold.messages, "message", "messages") + " (" + details + "), " +
                             milliseconds(records()[fold.first].time_us) + " to " +
                             milliseconds(records()[fold.last].time_us) + ", with nothing else happening") +
               "</g>";
    }

    // The time axis.
    std::string axis = fmt::format(R"(<line class="axis" x1="{0}" y1="0" x2="{0}" y2="{1}"/>)",
                                   number(gutter_width - 16), number(bottom_ + 30));
    for (const TimeLabel& label : time_labels_) {
      axis += fmt::format(R"(<line class="tick" x1="{}" y1="{}" x2="{}" y2="{}"/>)", number(gutter_width - 19),
                          number(label.y), number(gutter_width - 13), number(label.y));
      axis += fmt::format(R"(<text class="time" x="{}" y="{}" text-anchor="end">{}</text>)", number(gutter_width - 22),
                          number(label.y + 4), html_escape(milliseconds(label.time_us)));
    }

    // Where the page stops drawing, and the end of the run.
    std::string ends;
    auto stop_line = [&](double y, const std::string& text, const char* css) {
      ends += fmt::format(R"(<g class="{}"><line x1="{}" y1="{}" x2="{}" y2="{}"/><text x="{}" y="{}">{}</text></g>)",
                          css, number(lanes_left), number(y), number(lanes_right), number(y), number(lanes_left + 6),
                          number(y + 16), html_escape(text));
    };
    if (cap_record_) {
      double y = bottom_;
      for (std::size_t index = *cap_record_; index < records().size(); ++index)
        if (shown_[index] == Shown::drawn) {
          y = y_[index];
          break;
        }
      stop_line(y - 4,
                "message cap: from here on " + plural(messages_capped_, "message is", "messages are") +
                    " not drawn (the first " + with_separators(limits_.messages_max) + " are)",
                "cap");
    }
    std::string verdict = input_.violations.empty() ? "end of run: no invariant violated" : "end of run: ";
    for (std::size_t index = 0; index < input_.violations.size(); ++index)
      verdict += (index == 0 ? "" : ", ") + input_.violations[index].invariant + " violated";
    if (truncated_at_) {
      stop_line(bottom_ + 24,
                "the diagram stops here: " + plural(records_cut_, "more record", "more records") +
                    " (replay with --trace for all of them); " + verdict,
                input_.violations.empty() ? "end" : "end bad");
    } else {
      stop_line(bottom_ + 24, verdict + " (the checkers judge the history here)",
                input_.violations.empty() ? "end" : "end bad");
    }

    std::string svg = fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" aria-label="space-time diagram">)",
        number(width()), number(height + 10));
    svg += defs();
    svg += "<g class=\"layer-background\">" + background + "</g>";
    svg += "<g class=\"layer-spans\">" + spans + "</g>";
    svg += "<g class=\"layer-axis\">" + axis + "</g>";
    svg += "<g class=\"layer-annotations\">" + annotations + "</g>";
    svg += "<g class=\"layer-folds\">" + bands + "</g>";
    svg += "<g class=\"layer-arrows\">" + arrows + "</g>";
    svg += "<g class=\"layer-highlighted\">" + emphasised_arrows + "</g>";
    svg += "<g class=\"layer-marks\">" + marks + "</g>";
    svg += "<g class=\"layer-labels\">" + labels + "</g>";
    svg += "<g class=\"layer-ends\">" + ends + "</g>";
    svg += "</svg>";
    return svg;
  }

  std::string defs() const {
    std::string out = "<defs>";
    for (std::size_t index = 0; index < std::size(palettes); ++index) {
      out += fmt::format(
          R"(<marker id="head-{}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="{}"/></marker>)",
          index, palettes[index].colour);
    }
    out += fmt::format(
        R"(<marker id="head-alarm" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="13" markerHeight="13" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="{}"/></marker>)",
        alarm_colour);
    out +=
        R"svg(<pattern id="paused-stripes" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fef3c7"/><line x1="0" y1="0" x2="0" y2="6" stroke="#f59e0b" stroke-width="2" stroke-opacity="0.55"/></pattern>)svg";
    out += "</defs>";
    return out;
  }

  // The arrow of one delivery or drop, from its message's send.
  std::string message_arrow(const TimelineRecord& record, const Message& message, std::size_t index, bool alarm,
                            const std::string& anchor) const {
    if (!message.send) return {};
    const std::size_t send_index = *message.send;
    const TimelineRecord& send = records()[send_index];
    if (lane_index_.count(send.peer) == 0) return {};
    const double x1 = lane_x(send.node);
    const double y1 = y_[send_index];
    const double x_target = lane_x(send.peer);
    const double direction = x_target >= x1 ? 1.0 : -1.0;
    double x2 = x_target - direction * 2;
    double y2 = y_[index];
    const bool dropped = record.kind == "drop";
    if (dropped) {
      // Dropped as it was sent (a partition the sender can see): a short stub. Dropped
      // on arrival: the arrow stops short of the receiver.
      x2 = index == send_index + 1 || record.time_us == send.time_us ? x1 + (x_target - x1) * 0.42
                                                                     : x_target - direction * 16;
      if (y2 - y1 < 1 && record.time_us == send.time_us) y2 = y1 + 5;
    }
    const std::size_t palette = palette_for(send.detail);
    const std::string prefix = send.detail.substr(0, send.detail.find('.'));
    const bool reply = prefix == send.node;
    std::string css = "msg";
    if (reply) css += " reply";
    if (dropped) css += " dropped";
    if (alarm) css += " alarm";
    const std::string colour = alarm ? alarm_colour : palettes[palette].colour;
    std::string tooltip = milliseconds(send.time_us) + "  " + send.node + " → " + send.peer + ": " + send.detail +
                          (reply ? " (reply)" : " (request)") + ", message " + std::to_string(send.message_id);
    if (dropped) {
      tooltip += ", DROPPED at " + milliseconds(record.time_us);
    } else {
      tooltip +=
          ", delivered at " + milliseconds(record.time_us) + " after " + milliseconds(record.time_us - send.time_us);
      if (message.delivers.size() > 1) tooltip += " (delivered " + std::to_string(message.delivers.size()) + " times)";
    }
    std::string out = fmt::format(R"(<g class="{}"{}>)", css, anchor);
    std::string head;
    if (!dropped)
      head = alarm ? R"svg( marker-end="url(#head-alarm)")svg"
                   : fmt::format(R"svg( marker-end="url(#head-{})")svg", palette);
    out += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"{}/>)", number(x1), number(y1), number(x2),
                       number(y2), colour, head);
    if (dropped) {
      out +=
          fmt::format(R"(<path class="x" d="M{} {} L{} {} M{} {} L{} {}"/>)", number(x2 - 5), number(y2 - 5),
                      number(x2 + 5), number(y2 + 5), number(x2 - 5), number(y2 + 5), number(x2 + 5), number(y2 - 5));
    }
    // The message's name along the arrow, upright, when the arrow is long enough.
    const double dx = x2 - x1;
    const double dy = y2 - y1;
    if (std::hypot(dx, dy) > 90) {
      double angle = std::atan2(dy, dx) * 180.0 / 3.14159265358979323846;
      if (angle > 90) angle -= 180;
      if (angle < -90) angle += 180;
      const double mid_x = x1 + dx * 0.5;
      const double mid_y = y1 + dy * 0.5;
      out +=
          fmt::format(R"svg(<text class="msg-label" x="{}" y="{}" transform="rotate({} {} {})" fill="{}">{}</text>)svg",
                      number(mid_x), number(mid_y - 3), number(angle), number(mid_x), number(mid_y), colour,
                      html_escape(send.detail));
    }
    out += title_element(tooltip) + "</g>";
    return out;
  }

  // ---- The page ----

  std::string legend() const {
    auto item = [](const std::string& icon, const std::string& text) {
      return R"(<span class="legend-item"><svg width="34" height="16" viewBox="0 0 34 16">)" + icon + "</svg>" +
             html_escape(text) + "</span>";
    };
    std::string out = R"(<div class="legend">)";
    out += item(
        fmt::format(
            R"svg(<line x1="2" y1="8" x2="30" y2="8" stroke="{}" stroke-width="1.6" marker-end="url(#legend-head)"/>)svg",
            palettes[2].colour),
        "request");
    out += item(
        fmt::format(R"(<line x1="2" y1="8" x2="30" y2="8" stroke="{}" stroke-width="1.6" stroke-dasharray="5 3"/>)",
                    palettes[2].colour),
        "reply");
    out += item(
        fmt::format(
            R"(<line x1="2" y1="8" x2="24" y2="8" stroke="{0}" stroke-width="1.6" stroke-dasharray="3 2"/><path d="M20 4 L28 12 M20 12 L28 4" stroke="{1}" stroke-width="2.2"/>)",
            palettes[2].colour, drop_colour),
        "dropped");
    out += item(R"(<path d="M11 2 L23 14 M11 14 L23 2" stroke="#dc2626" stroke-width="3"/>)", "crash");
    out += item(
        R"(<rect x="11" y="0" width="12" height="16" fill="#fee2e2"/><line x1="17" y1="0" x2="17" y2="16" stroke="#ef4444" stroke-dasharray="2 2"/>)",
        "down");
    out += item(R"(<circle cx="17" cy="8" r="6" fill="#16a34a"/>)", "restart");
    out += item(R"svg(<rect x="12" y="0" width="10" height="16" fill="url(#paused-stripes)" stroke="#f59e0b"/>)svg",
                "paused");
    out += item(R"(<path d="M17 2 L23 8 L17 14 L11 8 Z" fill="#f97316"/>)", "fault");
    out += item(R"(<line x1="10" y1="8" x2="24" y2="8" stroke="#334155" stroke-width="2"/>)", "named point");
    out += item(R"(<circle cx="17" cy="8" r="4" fill="#fff" stroke="#94a3b8" stroke-width="1.5"/>)", "timeout");
    out += item(
        R"(<circle cx="17" cy="8" r="5" fill="#fff" stroke="#ea580c" stroke-width="1.8"/><path d="M13.5 11.5 L20.5 4.5" stroke="#ea580c" stroke-width="1.8"/>)",
        "reply lost");
    out += item(fmt::format(R"(<line x1="2" y1="8" x2="30" y2="8" stroke="{}" stroke-width="3"/>)", alarm_colour),
                "part of the violation");
    out += "</div>";
    return out;
  }

  std::string page(const std::string& svg) const {
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"generator\" content=\"faultline timeline\">\n";
    out += "<title>faultline timeline: " + html_escape(input_.title) + "</title>\n";
    out += "<style>\n" + style() + "</style>\n</head>\n<body>\n";

    // A zero-size SVG holds the legend's arrowhead, so the legend needs no other page part.
    out += fmt::format(
        R"(<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs><marker id="legend-head" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="{}"/></marker></defs></svg>)",
        palettes[2].colour);
    out += "\n<header>\n";
    out += "<h1><span class=\"brand\">faultline timeline</span> " + html_escape(input_.title) + "</h1>\n";
    if (!input_.facts.empty()) {
      out += "<p class=\"facts\">";
      for (std::size_t index = 0; index < input_.facts.size(); ++index)
        out += (index == 0 ? "" : "<span class=\"dot\">·</span>") + html_escape(input_.facts[index]);
      out += "</p>\n";
    }
    out += "<div class=\"columns\">\n<div class=\"left\">\n";
    if (input_.violations.empty()) {
      out += "<section class=\"verdict good\"><h2>No invariant violated</h2></section>\n";
    } else {
      out += "<section class=\"verdict bad\" id=\"violations\">";
      for (const auto& violation : input_.violations) {
        out += "<p class=\"violation\"><span class=\"invariant\">" + html_escape(violation.invariant) + "</span>" +
               html_escape(violation.explanation) + "</p>";
      }
      out += "</section>\n";
    }
    if (!input_.replay.empty())
      out += "<p class=\"replay\">replay: <code>" + html_escape(input_.replay) + "</code></p>\n";
    std::vector<std::string> notes;
    if (!input_.highlight_note.empty() && highlighted_ > 0) notes.push_back(input_.highlight_note);
    notes.push_back(
        "Scale: " + fmt::format("{:.0f}", latency_height) + " px ≈ the median message latency (" +
        milliseconds(median_latency_us_) + "); gaps longer than " +
        milliseconds(static_cast<std::int64_t>(step_max / latency_height * static_cast<double>(median_latency_us_))) +
        " are cut out and labelled.");
    if (messages_folded_ > 0)
      notes.push_back(plural(messages_folded_, "routine message is", "routine messages are") +
                      " folded into grey bands (long stretches of polling with nothing else happening).");
    if (messages_capped_ > 0)
      notes.push_back("Only the first " + with_separators(limits_.messages_max) + " messages are drawn; " +
                      plural(messages_capped_, "later message is", "later messages are") + " not.");
    if (records_cut_ > 0)
      notes.push_back("The diagram stops after " + with_separators(limits_.records_max) + " records; " +
                      plural(records_cut_, "record is", "records are") + " left out.");
    out += "<ul class=\"notes\">";
    for (std::size_t index = 0; index < notes.size(); ++index) {
      // The highlight note carries its own link; every other note is plain text.
      const bool has_link = index == 0 && !input_.highlight_note.empty() && highlighted_ > 0;
      if (has_link) {
        out += "<li>" + html_escape(input_.highlight_note) +
               (input_.violations.empty() ? "" : " <a href=\"#first-highlight\">(first one)</a>") + "</li>";
      } else {
        out += "<li>" + html_escape(notes[index]) + "</li>";
      }
    }
    out += "</ul>\n";
    out += legend();
    out += "\n</div>\n";
    if (!input_.story.empty()) {
      out += "<div class=\"right\"><h3>What happened</h3><pre class=\"story\">" + html_escape(input_.story) +
             "</pre></div>\n";
    }
    out += "</div>\n</header>\n";

    out += fmt::format("<main>\n<div class=\"diagram-wrap\" style=\"width:{}px\">\n", number(width()));
    out += "<div class=\"lane-heads\">";
    for (const auto& lane : lanes_) {
      out += fmt::format(R"(<div class="lane-head" style="left:{}px;width:{}px"><span>{}</span></div>)",
                         number(lane_x(lane) - lane_width_ / 2), number(lane_width_), html_escape(lane));
    }
    out += fmt::format(R"(<div class="lane-head time-head" style="left:0px;width:{}px"><span>time</span></div>)",
                       number(gutter_width - 10));
    out += "</div>\n" + svg + "\n</div>\n</main>\n</body>\n</html>\n";
    return out;
  }

  static std::string style() {
    return R"(:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #0f172a; background: #f8fafc; }
header { padding: 14px 22px 10px; background: #fff; border-bottom: 1px solid #e2e8f0; }
h1 { margin: 0 0 2px; font-size: 20px; font-weight: 650; }
h1 .brand { color: #64748b; font-weight: 500; margin-right: 6px; }
h2 { margin: 0; font-size: 15px; }
h3 { margin: 0 0 4px; font-size: 13px; color: #475569; text-transform: uppercase; letter-spacing: .04em; }
.facts { margin: 0 0 10px; color: #475569; font-size: 13px; }
.facts .dot { margin: 0 7px; color: #cbd5e1; }
.columns { display: flex; gap: 22px; align-items: flex-start; }
.columns .left { flex: 1 1 55%; min-width: 0; }
.columns .right { flex: 1 1 45%; min-width: 0; }
.verdict { border-radius: 8px; padding: 8px 12px; margin: 0 0 8px; }
.verdict.bad { background: #fff1f2; border: 1px solid #fecdd3; border-left: 5px solid #e11d48; }
.verdict.good { background: #f0fdf4; border: 1px solid #bbf7d0; border-left: 5px solid #16a34a; }
.violation { margin: 3px 0; color: #881337; }
.invariant { display: inline-block; min-width: 28px; margin-right: 8px; padding: 0 6px; border-radius: 4px; background: #e11d48; color: #fff; font-weight: 700; font-size: 12px; text-align: center; }
.replay { margin: 0 0 6px; font-size: 13px; color: #475569; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
code { background: #f1f5f9; padding: 1px 5px; border-radius: 4px; color: #0f172a; font-size: 12.5px; }
.notes { margin: 0 0 6px; padding-left: 18px; font-size: 12.5px; color: #475569; }
.story { margin: 0; padding: 8px 10px; max-height: 210px; overflow: auto; background: #0f172a; color: #e2e8f0; border-radius: 8px; font-size: 12px; line-height: 1.4; white-space: pre-wrap; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 14px; font-size: 12px; color: #334155; }
.legend-item { display: inline-flex; align-items: center; gap: 3px; }
main { padding: 0 0 40px; }
.diagram-wrap { position: relative; margin: 0; background: #fff; }
.lane-heads { position: sticky; top: 0; z-index: 2; height: 34px; background: rgba(255,255,255,.96); border-bottom: 1px solid #e2e8f0; box-shadow: 0 2px 4px rgba(15,23,42,.05); }
.lane-head { position: absolute; top: 0; height: 34px; display: flex; align-items: center; justify-content: center; }
.lane-head span { padding: 2px 12px; border-radius: 999px; background: #1e293b; color: #fff; font-weight: 600; font-size: 13px; }
.lane-head.time-head span { background: none; color: #64748b; font-weight: 500; }
svg.diagram { display: block; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
svg.diagram text { paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.lane { stroke: #cbd5e1; stroke-width: 2; }
.axis { stroke: #cbd5e1; stroke-width: 1; }
.tick { stroke: #94a3b8; }
.time { font-size: 10.5px; fill: #64748b; font-variant-numeric: tabular-nums; }
.cut { fill: #f1f5f9; stroke: #cbd5e1; stroke-dasharray: 2 3; }
.cut-label { font-size: 10.5px; fill: #64748b; font-style: italic; }
.liveness-phase { fill: #f5f3ff; }
.down rect { fill: #fee2e2; }
.down line { stroke: #ef4444; stroke-width: 2; stroke-dasharray: 3 3; }
.paused rect { fill: url(#paused-stripes); stroke: #f59e0b; stroke-width: 1; }
.global line { stroke: #64748b; stroke-width: 1.2; stroke-dasharray: 6 4; }
.global text { font-size: 11.5px; fill: #334155; font-weight: 600; }
.global.fault line { stroke: #ea580c; }
.global.fault text { fill: #c2410c; }
.global.heal line { stroke: #16a34a; }
.global.heal text { fill: #15803d; }
.global.liveness line { stroke: #7c3aed; stroke-width: 1.6; }
.global.liveness text { fill: #6d28d9; }
.partition-bar { stroke: #fb923c; stroke-width: 5; stroke-linecap: round; }
.fold rect { fill: #f1f5f9; stroke: #94a3b8; stroke-dasharray: 4 3; }
.fold text { font-size: 11px; fill: #334155; }
.fold .fold-details { fill: #64748b; font-size: 10.5px; }
.msg line { stroke-width: 1.5; }
.msg.reply line { stroke-dasharray: 5 3; stroke-opacity: .85; }
.msg.dropped line { stroke-dasharray: 3 2; }
.msg .x { stroke: #dc2626; stroke-width: 2.4; }
.msg.in-flight line { stroke-dasharray: 1 3; }
.msg.in-flight circle { fill: #fff; stroke: #64748b; }
.msg.alarm line { stroke-width: 3; }
.msg.alarm .x { stroke: #e11d48; stroke-width: 3.2; }
.msg:hover line { stroke-width: 3.5; }
.msg-label { font-size: 10px; text-anchor: middle; }
.msg.alarm .msg-label { font-weight: 700; }
.point line { stroke: #334155; stroke-width: 2.2; }
.point.alarm line { stroke: #e11d48; stroke-width: 3; }
.timeout circle { fill: #fff; stroke: #94a3b8; stroke-width: 1.5; }
.crash path { stroke: #dc2626; stroke-width: 3.6; stroke-linecap: round; }
.restart circle { fill: #16a34a; stroke: #fff; stroke-width: 1.5; }
.fault path { fill: #f97316; stroke: #fff; stroke-width: 1; }
.lost-reply circle { fill: #fff; stroke: #ea580c; stroke-width: 1.8; }
.lost-reply path { stroke: #ea580c; stroke-width: 1.8; }
.refused rect { fill: #64748b; }
.note circle { fill: #a855f7; stroke: #fff; stroke-width: 1.5; }
.note.alarm circle { fill: #e11d48; stroke: #fecdd3; stroke-width: 4; }
.other circle { fill: #64748b; }
.label { font-size: 11px; fill: #334155; }
.point-label { font-size: 10px; fill: #475569; }
.timeout-label { font-size: 9.5px; fill: #94a3b8; }
.crash-label { fill: #dc2626; font-weight: 700; }
.restart-label { fill: #15803d; font-weight: 600; }
.pause-label { fill: #b45309; }
.fault-label { fill: #c2410c; }
.lost-label { fill: #c2410c; }
.refused-label { fill: #475569; }
.note-label { fill: #7e22ce; font-weight: 600; }
.label.alarm { fill: #e11d48; font-weight: 700; }
.leader { stroke: #cbd5e1; fill: none; }
.cap line, .end line { stroke: #475569; stroke-width: 1.5; }
.cap text, .end text { font-size: 12px; fill: #334155; font-weight: 600; }
.end.bad line { stroke: #e11d48; stroke-width: 2; }
.end.bad text { fill: #be123c; }
)";
  }
};

}  // namespace

std::string render_timeline(const TimelineInput& input, const TimelineLimits& limits) {
  return Renderer(input, limits).render();
}

}  // namespace faultline::reports
