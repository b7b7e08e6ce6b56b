// mlops/detail/clone_ptr.hpp - the storage of the library's value types over one
// interface (Step, FittedStep, Estimator): an owning pointer whose copy clones the
// pointee, and a per-type key that recovers the held type without RTTI.
#pragma once

#include <memory>
#include <utility>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN

namespace detail {

/// One address per type: what the value types' get_if compares (no RTTI needed).
template <class X>
inline constexpr char type_key = 0;

/// Owns a `Concept` (an interface with `clone()` returning unique_ptr<Concept> and
/// `key()` returning &type_key<X> of the held X); copying clones, moving moves. Empty only
/// when default-constructed or moved from.
template <class Concept>
class clone_ptr {
 public:
  clone_ptr() = default;
  explicit clone_ptr(std::unique_ptr<Concept> p) noexcept : p_(std::move(p)) {}
  clone_ptr(const clone_ptr& o) : p_(o.p_ ? o.p_->clone() : nullptr) {}
  clone_ptr(clone_ptr&&) noexcept = default;
  clone_ptr& operator=(const clone_ptr& o) {
    if (this != &o) p_ = o.p_ ? o.p_->clone() : nullptr;
    return *this;
  }
  clone_ptr& operator=(clone_ptr&&) noexcept = default;
  ~clone_ptr() = default;

  explicit operator bool() const noexcept { return p_ != nullptr; }
  Concept* operator->() const noexcept { return p_.get(); }
  Concept& operator*() const noexcept { return *p_; }

  /// The held model as `Model` when it was made for the type whose key is `key`, else nullptr.
  template <class Model>
  Model* as(const void* key) const noexcept {
    return p_ && p_->key() == key ? static_cast<Model*>(p_.get()) : nullptr;
  }

 private:
  std::unique_ptr<Concept> p_;
};

}  // namespace detail

MLOPS_NAMESPACE_END
