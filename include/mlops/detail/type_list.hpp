// mlops/detail/type_list.hpp - the lists that steps and models are registered in, and
// what is generated from them: the variants, tag dispatch, name lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <variant>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

template <class... Ts>
struct type_list {};

template <class L>
struct list_variant;
template <class... Ts>
struct list_variant<type_list<Ts...>> {
  using type = std::variant<Ts...>;
};
/// std::variant<Ts...> of a type_list<Ts...>.
template <class L>
using variant_of = typename list_variant<L>::type;

template <class T, class V>
struct variant_holds_t : std::false_type {};
template <class T, class... Ts>
struct variant_holds_t<T, std::variant<Ts...>> : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};
/// true when T is one of the alternatives of the std::variant V.
template <class T, class V>
inline constexpr bool variant_holds = variant_holds_t<T, V>::value;

/// Calls fn(tag-type pointer) for each type of the list, in order, until it returns true;
/// true if one did.
template <class... Ts, class Fn>
constexpr bool any_of_types(type_list<Ts...>, Fn&& fn) {
  return (fn(static_cast<Ts*>(nullptr)) || ...);
}

/// true when every type's format tag is distinct (checked at compile time by each list).
template <class... Ts>
constexpr bool distinct_tags(type_list<Ts...>) {
  constexpr std::uint8_t tags[] = {Ts::tag...};
  for (std::size_t i = 0; i < sizeof...(Ts); ++i)
    for (std::size_t j = i + 1; j < sizeof...(Ts); ++j)
      if (tags[i] == tags[j] || tags[i] == 0) return false;
  return true;
}

template <std::size_t I, class V, class Fn>
decltype(auto) visit_inline_from(V& v, Fn& fn) {
  if constexpr (I + 1 == std::variant_size_v<std::remove_const_t<V>>) {
    return fn(*std::get_if<I>(&v));
  } else {
    if (v.index() == I) return fn(*std::get_if<I>(&v));
    return visit_inline_from<I + 1>(v, fn);
  }
}
/// std::visit for a hot path: a chain of index tests that the compiler inlines through
/// (GCC's std::visit calls through a table of function pointers, which stops inlining).
/// `v` must not be valueless; fn must return the same type for every alternative.
template <class V, class Fn>
decltype(auto) visit_inline(V& v, Fn&& fn) {
  return visit_inline_from<0>(v, fn);
}

}  // namespace detail
MLOPS_NAMESPACE_END
