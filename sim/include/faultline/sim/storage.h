// Durable storage with explicit sync. A write is volatile until a sync covering it
// completes; a crash loses every unsynced write. Models choose when to sync, which
// is how "acknowledged but not durable" designs become reachable.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace faultline::sim {

// One durable object on a node's disk. Its contents are a sequence of records, of
// which a prefix is synced.
class Durable {
 public:
  virtual ~Durable() = default;
  virtual std::size_t size() const = 0;

  std::size_t synced_size() const { return synced_; }
  void mark_synced(std::size_t upto) { synced_ = std::max(synced_, std::min(upto, size())); }

  // The crash: everything written after the last completed sync is gone.
  void lose_unsynced() { truncate(synced_); }
  // A durability fault: the disk lied about the last `count` synced records.
  void lose_synced_suffix(std::size_t count) {
    synced_ = synced_ > count ? synced_ - count : 0;
    truncate(synced_);
  }

 protected:
  virtual void truncate(std::size_t size) = 0;

 private:
  std::size_t synced_ = 0;
};

// An append-only log of typed records: a write-ahead log, a broker partition, an
// offset store. Recovery replays `durable()`.
template <typename Record>
class DurableLog final : public Durable {
 public:
  void append(Record record) { records_.push_back(std::move(record)); }
  std::size_t size() const override { return records_.size(); }
  const Record& operator[](std::size_t index) const { return records_[index]; }
  // Everything written, synced or not (what the running process sees).
  std::span<const Record> written() const { return records_; }
  // What survives a crash.
  std::span<const Record> durable() const { return {records_.data(), synced_size()}; }

 protected:
  void truncate(std::size_t size) override { records_.resize(std::min(size, records_.size())); }

 private:
  std::vector<Record> records_;
};

// A node's disk: durable objects by name. It outlives every incarnation of the node.
class Disk {
 public:
  template <typename T>
  T& get(std::string_view name) {
    auto found = items_.find(name);
    if (found == items_.end()) found = items_.emplace(std::string(name), std::make_unique<T>()).first;
    auto* typed = dynamic_cast<T*>(found->second.get());
    assert(typed != nullptr && "a durable object was reopened with another type");
    return *typed;
  }
  template <typename T>
  const T* find(std::string_view name) const {
    const auto found = items_.find(name);
    return found == items_.end() ? nullptr : dynamic_cast<const T*>(found->second.get());
  }

  void lose_unsynced() {
    for (auto& [name, item] : items_) item->lose_unsynced();
  }
  template <typename Visit>
  void for_each(Visit&& visit) {
    for (auto& [name, item] : items_) visit(name, *item);
  }

 private:
  std::map<std::string, std::unique_ptr<Durable>, std::less<>> items_;
};

}  // namespace faultline::sim
