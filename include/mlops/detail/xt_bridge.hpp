// mlops/detail/xt_bridge.hpp - the one place that touches xtensor.
// Column storage for DataFrame is xt::xtensor<T, 1>; everything else in mlops sees
// a column as std::span. A newer xtensor (headers moved in 0.26) or another column
// store is a change to this file only.
#pragma once

#include <cstddef>
#include <span>

#include <xtensor/xtensor.hpp>

#include "mlops/config.hpp"
#include "mlops/detail/buffer_cache.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// Large columns come from the buffer cache (see detail/buffer_cache.hpp).
template <class T>
using column_storage = xt::xtensor<T, 1, XTENSOR_DEFAULT_LAYOUT, column_allocator<T>>;

/// A column of n uninitialised values.
template <class T>
inline column_storage<T> make_column(std::size_t n) {
  return column_storage<T>::from_shape({n});
}
template <class T>
inline std::span<T> column_span(column_storage<T>& c) noexcept {
  return {c.data(), c.size()};
}
template <class T>
inline std::span<const T> column_span(const column_storage<T>& c) noexcept {
  return {c.data(), c.size()};
}

}  // namespace detail
MLOPS_NAMESPACE_END
