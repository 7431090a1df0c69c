// Visiting items grouped by a key, in the order an ordered map keyed by it would visit
// them, without building the map: the judge groups a run's records by announced event
// (and consumer group) several times per seed, and a sorted list of positions with integer
// compares costs a fraction of a map with a node and string compares per item.
// Internal to the properties library.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/models/consumer.h"
#include "faultline/models/design.h"

namespace faultline::properties::detail {

// A name with its first eight bytes read as a big-endian integer (zero past its end),
// ordered exactly as the string is (byte-wise, a prefix first): the integer decides
// unless two names agree on it, and then two names of at most eight bytes differ only
// in length (the shorter is a prefix of the other); longer ones compare as strings.
// Announced event ids ("e17", "e17.2") and node names are short, so their compares are integer compares.
struct OrderedName {
  std::uint64_t head = 0;
  std::string_view text;

  explicit OrderedName(std::string_view name) : text(name) {
    unsigned char bytes[8] = {};
    std::memcpy(bytes, name.data(), std::min<std::size_t>(name.size(), sizeof(bytes)));
    for (const unsigned char byte : bytes) head = (head << 8) | byte;
  }

  friend bool operator<(const OrderedName& left, const OrderedName& right) {
    if (left.head != right.head) return left.head < right.head;
    if (left.text.size() <= 8 && right.text.size() <= 8) return left.text.size() < right.text.size();
    return left.text < right.text;
  }
  friend bool operator==(const OrderedName& left, const OrderedName& right) {
    return left.head == right.head && left.text.size() == right.text.size() &&
           (left.text.size() <= 8 || left.text == right.text);
  }
};

// The rank of each item's name among the distinct names of all items, in name order:
// a few distinct names (consumer groups) over many items become small integers that
// order as the names do.
template <typename Item, typename NameOf>
std::vector<std::uint32_t> name_ranks(const std::vector<Item>& items, NameOf name_of) {
  std::vector<std::string_view> names;
  for (const Item& item : items) {
    const std::string_view name = name_of(item);
    if (names.empty() || names.back() != name) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<std::uint32_t> ranks;
  ranks.reserve(items.size());
  for (const Item& item : items) {
    const auto found = std::lower_bound(names.begin(), names.end(), name_of(item));
    assert(found != names.end() && *found == name_of(item));
    ranks.push_back(static_cast<std::uint32_t>(found - names.begin()));
  }
  return ranks;
}

// An item's sort key: the rank of its first name (see name_ranks; 0 when there is one
// name only) and its second name.
struct RankedName {
  std::uint32_t rank = 0;
  OrderedName name;

  friend bool operator<(const RankedName& left, const RankedName& right) {
    return left.rank != right.rank ? left.rank < right.rank : left.name < right.name;
  }
  friend bool operator==(const RankedName& left, const RankedName& right) {
    return left.rank == right.rank && left.name == right.name;
  }
};

// Each item's (first name, second name) key, e.g. (consumer group, event id).
template <typename Item, typename FirstOf, typename SecondOf>
std::vector<RankedName> ranked_names(const std::vector<Item>& items, FirstOf first_of, SecondOf second_of) {
  const std::vector<std::uint32_t> ranks = name_ranks(items, first_of);
  std::vector<RankedName> keys;
  keys.reserve(items.size());
  for (std::size_t index = 0; index < items.size(); ++index)
    keys.push_back(RankedName{ranks[index], OrderedName(second_of(items[index]))});
  return keys;
}

// The announced identity of each broker record, effect or delivery (see
// models::announced_event_id): what the checkers know an event by, whatever message id
// it travelled under.
inline std::vector<std::string> announced_ids(const std::vector<models::StoredRecord>& records) {
  std::vector<std::string> ids;
  ids.reserve(records.size());
  for (const auto& record : records) ids.push_back(models::announced_event_id(record.event));
  return ids;
}
inline std::vector<std::string> announced_ids(const std::vector<models::AppliedEffect>& effects) {
  std::vector<std::string> ids;
  ids.reserve(effects.size());
  for (const auto& effect : effects) ids.push_back(models::announced_event_id(effect.event));
  return ids;
}
inline std::string announced_id(const models::Delivery& delivery) {
  return models::announced_event_id(delivery.command, delivery.index_in_change, delivery.events_in_change);
}
inline std::vector<std::string> announced_ids(const std::vector<models::Delivery>& deliveries) {
  std::vector<std::string> ids;
  ids.reserve(deliveries.size());
  for (const auto& delivery : deliveries) ids.push_back(announced_id(delivery));
  return ids;
}

// The (group, announced event) of each effect or delivery, `ids` their announced_ids:
// what the checkers group them by. The keys view `ids`, which must outlive them.
template <typename Item>
std::vector<RankedName> group_and_event_of(const std::vector<Item>& items, const std::vector<std::string>& ids) {
  assert(ids.size() == items.size());
  return ranked_names(
      items, [](const Item& item) -> std::string_view { return item.group; },
      [&](const Item& item) -> std::string_view { return ids[static_cast<std::size_t>(&item - items.data())]; });
}

// The positions of `keys` in key order, equal keys in their original order (a stable
// sort): the same order, within each key too, as appending each position to a map entry
// keyed by it and walking the map.
template <typename Key>
std::vector<std::uint32_t> positions_by(const std::vector<Key>& keys) {
  assert(keys.size() < UINT32_MAX);
  std::vector<std::uint32_t> positions(keys.size());
  std::iota(positions.begin(), positions.end(), std::uint32_t{0});
  std::stable_sort(positions.begin(), positions.end(),
                   [&](std::uint32_t left, std::uint32_t right) { return keys[left] < keys[right]; });
  return positions;
}

// Calls `visit(first, last)` for each run of equal keys in `positions` (from positions_by),
// [first, last) the run's positions in their original order, runs in key order.
template <typename Key, typename Visit>
void for_each_run(const std::vector<Key>& keys, const std::vector<std::uint32_t>& positions, Visit visit) {
  std::size_t start = 0;
  for (std::size_t index = 1; index <= positions.size(); ++index) {
    if (index < positions.size() && keys[positions[start]] == keys[positions[index]]) continue;
    visit(positions.begin() + static_cast<std::ptrdiff_t>(start),
          positions.begin() + static_cast<std::ptrdiff_t>(index));
    start = index;
  }
}

}  // namespace faultline::properties::detail
