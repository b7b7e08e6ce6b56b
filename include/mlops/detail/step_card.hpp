// mlops/detail/step_card.hpp - what a fitted step says about itself on the model card, in
// a neutral form (no JSON library here): step-level fields, then fields per column.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "mlops/config.hpp"

MLOPS_NAMESPACE_BEGIN
namespace detail {

/// A number (non-finite ones are written as "nan"/"inf" strings), a count, a flag or a word.
using card_value = std::variant<double, std::uint64_t, bool, std::string>;

struct card_fields {
  std::vector<std::pair<std::string, card_value>> items;
  card_fields& num(std::string key, double v) { return add(std::move(key), v); }
  card_fields& count(std::string key, std::uint64_t v) { return add(std::move(key), v); }
  card_fields& flag(std::string key, bool v) { return add(std::move(key), v); }
  card_fields& text(std::string key, std::string v) { return add(std::move(key), std::move(v)); }

 private:
  card_fields& add(std::string key, card_value v) {
    items.emplace_back(std::move(key), std::move(v));
    return *this;
  }
};

struct step_card {
  card_fields fields;                                     // the step's own settings and counts
  std::vector<std::pair<std::string, card_fields>> columns;  // per column it works on
  card_fields& column(std::string name) {
    columns.emplace_back(std::move(name), card_fields{});
    return columns.back().second;
  }
};

}  // namespace detail
MLOPS_NAMESPACE_END
