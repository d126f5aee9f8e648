// The stack of open elements and the list of active formatting elements of
// the nesting model (crawl/html_nesting_model.h): scope checks, pops, the
// adoption agency and the reopening of formatting elements.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "crawl/html_nesting_model.h"

namespace refinery::crawl::internal {

bool NestingModel::TopIs(std::string_view name) const {
  return !stack_.empty() && !stack_.back().foreign && stack_.back().name == name;
}

bool NestingModel::InSelect() const {
  for (size_t i = stack_.size(); i-- > 0;) {
    const Entry& entry = stack_[i];
    if (entry.foreign) return false;
    if (entry.name != "option" && entry.name != "optgroup") return entry.name == "select";
  }
  return false;
}

bool NestingModel::InTableBody() const {
  for (size_t i = stack_.size(); i-- > 0;) {
    const Entry& entry = stack_[i];
    if (entry.foreign) continue;
    const std::string& n = entry.name;
    if (n == "td" || n == "th" || n == "caption" || n == "template" || n == "frameset") return false;
    if (n == "table" || n == "tbody" || n == "thead" || n == "tfoot" || n == "tr") return true;
  }
  return false;
}

bool NestingModel::TableInScope() const {
  for (size_t i = stack_.size(); i-- > 0;) {
    if (stack_[i].foreign) continue;
    if (stack_[i].name == "table") return true;
    if (stack_[i].name == "template" || stack_[i].name == "frameset") return false;
  }
  return false;
}

bool NestingModel::TableBelowSelect() const {
  size_t i = stack_.size();
  while (i-- > 0 && stack_[i].name != "select") {
  }
  while (i-- > 0) {
    if (!stack_[i].foreign && stack_[i].name == "table") return true;
  }
  return false;
}

bool NestingModel::InScope(std::string_view name) const {
  for (size_t i = stack_.size(); i-- > 0;) {
    if (!stack_[i].foreign && stack_[i].name == name) return true;
    if (stack_[i].flags & kScope) return false;
  }
  return false;
}

// Pops through the nearest HTML element `name` (any heading for a heading)
// unless a boundary comes first: with kScope the default scope (plus ol and
// ul for li), with 0 table scope.
void NestingModel::CloseInScope(std::string_view name, uint32_t boundaries) {
  bool heading = FlagsOf(name) & kHeading;
  for (size_t i = stack_.size(); i-- > 0;) {
    const Entry& entry = stack_[i];
    bool html = !entry.foreign;
    if (html && (heading ? (entry.flags & kHeading) != 0 : entry.name == name)) return PopTo(i);
    bool boundary = boundaries == kScope
                        ? (entry.flags & kScope) || (name == "li" && html && (entry.name == "ol" || entry.name == "ul"))
                        : html && (entry.name == "table" || entry.name == "template");
    if (boundary) return;
  }
}

void NestingModel::CloseP() {
  if (open_paragraphs_ == 0) return;
  for (size_t i = stack_.size(); i-- > 0;) {
    const Entry& entry = stack_[i];
    if (!entry.foreign && entry.name == "p") return PopTo(i);
    if ((entry.flags & kScope) || (!entry.foreign && entry.name == "button")) return;
  }
}

void NestingModel::CloseListItem(bool li) {
  for (size_t i = stack_.size(); i-- > 0;) {
    const Entry& entry = stack_[i];
    const std::string& n = entry.name;
    if (!entry.foreign && (li ? n == "li" : (n == "dd" || n == "dt"))) return PopTo(i);
    if ((entry.flags & kSpecial) && !(n == "address" || n == "div" || n == "p")) return;
  }
}

void NestingModel::PopUntilTopIn(std::initializer_list<std::string_view> names) {
  while (!stack_.empty()) {
    const Entry& top = stack_.back();
    if (!top.foreign && std::find(names.begin(), names.end(), top.name) != names.end()) return;
    PopTop();
  }
}

void NestingModel::PopThrough(std::string_view name) {
  for (size_t i = stack_.size(); i-- > 0;) {
    if (!stack_[i].foreign && stack_[i].name == name) return PopTo(i);
    if (!stack_[i].foreign && stack_[i].name == "frameset") return;
  }
}

void NestingModel::PopImpliedEndTags() {
  while (!stack_.empty() && !stack_.back().foreign) {
    const std::string& n = stack_.back().name;
    if (n != "dd" && n != "dt" && n != "li" && n != "option" && n != "optgroup" && n != "p" && n != "rp" && n != "rt") {
      return;
    }
    PopTop();
  }
}

void NestingModel::PopTo(size_t index) {
  while (stack_.size() > index) PopTop();
}

void NestingModel::Insert(size_t index, Entry entry) {
  Count(entry, 1);
  stack_.insert(stack_.begin() + static_cast<std::ptrdiff_t>(index), std::move(entry));
}

NestingModel::Entry NestingModel::Erase(size_t index) {
  Entry entry = std::move(stack_[index]);
  stack_.erase(stack_.begin() + static_cast<std::ptrdiff_t>(index));
  Count(entry, -1);
  return entry;
}

void NestingModel::Count(const Entry& entry, int delta) {
  if (entry.foreign) return;
  if (entry.name == "p") open_paragraphs_ += delta;
  if (entry.name == "template") open_templates_ += delta;
  if (entry.flags & kMarker) {
    if (delta > 0) {
      markers_.push_back(entry.seq);
    } else {
      markers_.erase(std::find(markers_.begin(), markers_.end(), entry.seq));
    }
  }
}

void NestingModel::PopTop() {
  Entry entry = Erase(stack_.size() - 1);
  if (!entry.foreign && (entry.flags & kMarker)) {
    // Closing a cell, caption, object... clears the list back to its marker.
    uint64_t seq = entry.seq;
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [seq](const Entry& e) { return e.seq > seq; }),
                   pending_.end());
    for (Entry& open : stack_) open.in_list = open.in_list && open.seq < seq;
    return;
  }
  if (entry.in_list) AddPending(std::move(entry));
}

uint64_t NestingModel::LastMarkerSeq() const { return markers_.empty() ? 0 : markers_.back(); }

// Closed formatting elements later than this are reopened: the last marker
// or still-open element on the list.
uint64_t NestingModel::ReconstructFloor() const {
  uint64_t floor = LastMarkerSeq();
  for (const Entry& entry : stack_) {
    if (entry.in_list) floor = std::max(floor, entry.seq);
  }
  return floor;
}

size_t NestingModel::ReconstructCount() const {
  if (pending_.empty()) return 0;
  uint64_t floor = ReconstructFloor();
  auto first =
      std::partition_point(pending_.begin(), pending_.end(), [floor](const Entry& e) { return e.seq <= floor; });
  return static_cast<size_t>(pending_.end() - first);
}

void NestingModel::Reconstruct() {
  if (pending_.empty()) return;
  uint64_t floor = ReconstructFloor();
  auto first =
      std::partition_point(pending_.begin(), pending_.end(), [floor](const Entry& e) { return e.seq <= floor; });
  for (auto it = first; it != pending_.end(); ++it) Insert(stack_.size(), std::move(*it));
  pending_.erase(first, pending_.end());
}

void NestingModel::AddPending(Entry entry) {
  auto at = std::upper_bound(pending_.begin(), pending_.end(), entry.seq,
                             [](uint64_t seq, const Entry& e) { return seq < e.seq; });
  pending_.insert(at, std::move(entry));
  if (pending_.size() > max_depth_) pending_.erase(pending_.begin());
}

void NestingModel::OnText(size_t at, bool blank) {
  if (!blank) frameset_ok_ = false;
  if (in_frameset_ || pending_.empty() || InTemplateColumns() || InForeignContent() || InSelect()) return;
  if (blank && InTableBody()) return;  // table whitespace reopens nothing
  size_t count = ReconstructCount();
  if (count == 0) return;
  MakeRoom(at, count);
  Reconstruct();
}

// The Noah's Ark clause: a fourth identical formatting element after the
// last marker pushes the earliest off the list.
void NestingModel::NoahsArk(const Entry& entry) {
  uint64_t marker = LastMarkerSeq();
  size_t count = 0;
  uint64_t earliest = UINT64_MAX;
  auto consider = [&](const Entry& e) {
    if (e.seq > marker && e.key == entry.key) {
      ++count;
      earliest = std::min(earliest, e.seq);
    }
  };
  for (const Entry& e : stack_) {
    if (e.in_list) consider(e);
  }
  for (const Entry& e : pending_) consider(e);
  if (count < 3) return;
  for (Entry& e : stack_) e.in_list = e.in_list && e.seq != earliest;
  pending_.erase(
      std::remove_if(pending_.begin(), pending_.end(), [earliest](const Entry& e) { return e.seq == earliest; }),
      pending_.end());
}

NestingModel::ActiveRef NestingModel::LastActive(std::string_view name) const {
  uint64_t marker = LastMarkerSeq();
  ActiveRef best;
  uint64_t best_seq = marker;
  for (size_t i = 0; i < stack_.size(); ++i) {
    if (stack_[i].in_list && stack_[i].name == name && stack_[i].seq > best_seq) {
      best = {true, false, i};
      best_seq = stack_[i].seq;
    }
  }
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].name == name && pending_[i].seq > best_seq) {
      best = {true, true, i};
      best_seq = pending_[i].seq;
    }
  }
  return best;
}

// <a> while an <a> is active: the adoption agency, then that <a> leaves
// the list and the stack wherever it still is.
void NestingModel::RemoveLastActive(std::string_view name) {
  if (!LastActive(name).found) return;
  FormattingEndTag(name);
  ActiveRef ref = LastActive(name);
  if (!ref.found) return;
  if (ref.pending) {
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(ref.index));
  } else {
    Erase(ref.index);
  }
}

void NestingModel::FormattingEndTag(std::string_view name) {
  for (int round = 0; round < 8; ++round) {
    if (!AdoptOnce(name, round == 0)) return;
  }
}

// One round of gumbo's adoption agency algorithm; true to run another.
bool NestingModel::AdoptOnce(std::string_view name, bool first_round) {
  ActiveRef ref = LastActive(name);
  if (!ref.found) {
    if (first_round) AnyOtherEndTag(name);
    return false;
  }
  if (ref.pending) {  // on the list but closed: just dropped from the list
    pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(ref.index));
    return false;
  }
  size_t element = ref.index;
  for (size_t i = stack_.size(); i-- > element + 1;) {
    if (stack_[i].flags & kScope) return false;  // not in scope: ignored
  }
  size_t block = element + 1;  // the furthest block: the first special element above
  while (block < stack_.size() && !(stack_[block].flags & kSpecial)) ++block;
  if (block == stack_.size()) {
    uint64_t seq = stack_[element].seq;
    PopTo(element);
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [seq](const Entry& e) { return e.seq == seq; }),
                   pending_.end());
    return false;
  }
  // Up to three elements just below the block: those not on the list leave
  // the stack. The formatting element moves to just above the block.
  size_t node = block;
  for (int j = 0; j < 3; ++j) {
    if (--node == element) break;
    if (!stack_[node].in_list) {
      Erase(node);
      --block;
    }
  }
  Insert(block, Erase(element));
  return true;
}

}  // namespace refinery::crawl::internal
