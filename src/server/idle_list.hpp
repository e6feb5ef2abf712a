// The event loop's timer lists: open connections by last activity (for the idle timeout)
// and closed ones waiting for their peer's EOF (for the linger time). Intrusive, so moving
// a connection costs no allocation; every insertion is at the back with the loop's current
// time, which never goes backwards, so the front is always the first to expire.
#pragma once

namespace sockit::server::detail {

// Node has `IdleList<Node>* list`, `Node* prev`, `Node* next` and a `touched` time.
template <class Node>
class IdleList {
 public:
  Node* front() const noexcept { return head_; }

  void push_back(Node& node) noexcept {
    node.list = this;
    node.prev = tail_;
    node.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &node;
    } else {
      head_ = &node;
    }
    tail_ = &node;
  }

  void remove(Node& node) noexcept {
    if (node.prev != nullptr) {
      node.prev->next = node.next;
    } else {
      head_ = node.next;
    }
    if (node.next != nullptr) {
      node.next->prev = node.prev;
    } else {
      tail_ = node.prev;
    }
    node.prev = node.next = nullptr;
    node.list = nullptr;
  }

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
};

}  // namespace sockit::server::detail
