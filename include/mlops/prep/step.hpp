// mlops/prep/step.hpp - Step<T> and FittedStep<T>: any step, held by value behind one
// interface. A pipeline stores these, so naming a pipeline needs no step's class: a
// change to one step rebuilds that step's users, not every user of the pipeline. Any
// type meeting step_options / fitted_step (prep/common.hpp) converts to them, the
// library's steps (listed in prep/steps.hpp) and a user's own alike. The row path never
// calls through this interface: each fitted step compiles itself into the row program.
//
//   mlops::Step<double> s = mlops::SimpleImputer<double>{};
//   if (const auto* imp = mlops::get_if<mlops::SimpleImputer<double>>(&s)) ...
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/clone_ptr.hpp"
#include "mlops/prep/common.hpp"
#include "mlops/prep/stats.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
class FittedStep;

/// A fitted step of any type (see the fitted_step concept): its name, format tag and
/// columns, its frame transform, its row-program form, save and model-card text.
template <scalar T>
class FittedStep {
 public:
  FittedStep() = default;
  template <class F>
    requires(!std::same_as<std::decay_t<F>, FittedStep> && fitted_step<std::decay_t<F>, T>)
  FittedStep(F f) : p_(std::make_unique<model<std::decay_t<F>>>(std::move(f))) {}  // NOLINT: implicit, as a variant's

  /// false only for a default-constructed or moved-from step.
  bool has_value() const noexcept { return static_cast<bool>(p_); }
  std::string_view name() const noexcept { return p_->name(); }
  std::uint8_t tag() const noexcept { return p_->tag(); }
  const std::vector<std::string>& columns() const noexcept { return p_->columns(); }
  void transform_inplace(DataFrame<T>& frame) const { p_->transform_inplace(frame); }
  void compile(const detail::compile_context& ctx, detail::row_program<T>& program) const { p_->compile(ctx, program); }
  /// Writes the step's body (the caller writes its tag first).
  void save(detail::byte_writer& w) const { p_->save(w); }
  void describe(detail::step_card& card) const { p_->describe(card); }
  /// Tells `sink` what the step does to its own training rows (prep/stats.hpp,
  /// form_sink); false when its type has no `forms` (e.g. it drops rows).
  bool forms(detail::form_sink<T>& sink) const { return p_->forms(sink); }

  /// The held step if it is an F, else nullptr.
  template <class F>
  const F* get_if() const noexcept {
    const auto* m = p_.template as<model<F>>(&detail::type_key<F>);
    return m ? &m->value : nullptr;
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual std::unique_ptr<concept_t> clone() const = 0;
    virtual const void* key() const noexcept = 0;
    virtual std::string_view name() const noexcept = 0;
    virtual std::uint8_t tag() const noexcept = 0;
    virtual const std::vector<std::string>& columns() const noexcept = 0;
    virtual void transform_inplace(DataFrame<T>& frame) const = 0;
    virtual void compile(const detail::compile_context& ctx, detail::row_program<T>& program) const = 0;
    virtual void save(detail::byte_writer& w) const = 0;
    virtual void describe(detail::step_card& card) const = 0;
    virtual bool forms(detail::form_sink<T>& sink) const = 0;
  };
  template <class F>
  struct model final : concept_t {
    F value;
    explicit model(F f) : value(std::move(f)) {}
    std::unique_ptr<concept_t> clone() const override { return std::make_unique<model>(value); }
    const void* key() const noexcept override { return &detail::type_key<F>; }
    std::string_view name() const noexcept override { return F::name; }
    std::uint8_t tag() const noexcept override { return static_cast<std::uint8_t>(F::tag); }
    const std::vector<std::string>& columns() const noexcept override { return value.columns(); }
    void transform_inplace(DataFrame<T>& frame) const override { value.transform_inplace(frame); }
    void compile(const detail::compile_context& ctx, detail::row_program<T>& program) const override { value.compile(ctx, program); }
    void save(detail::byte_writer& w) const override { value.save(w); }
    void describe(detail::step_card& card) const override { value.describe(card); }
    bool forms(detail::form_sink<T>& sink) const override {
      if constexpr (requires { value.forms(sink); }) {
        value.forms(sink);
        return true;
      } else {
        (void)sink;
        return false;
      }
    }
  };
  detail::clone_ptr<concept_t> p_;
};

/// A step's options, of any type (see the step_options concept): its names (the first
/// is its name), its parameters by name, and fitting inside a pipeline.
template <scalar T>
class Step {
 public:
  Step() = default;
  template <class S>
    requires(!std::same_as<std::decay_t<S>, Step> && step_options<std::decay_t<S>, T>)
  Step(S s) : p_(std::make_unique<model<std::decay_t<S>>>(std::move(s))) {}  // NOLINT: implicit, as a variant's

  bool has_value() const noexcept { return static_cast<bool>(p_); }
  /// Every name set_param knows the step by; the first is its name.
  std::span<const std::string_view> names() const noexcept { return p_->names(); }
  std::string_view name() const noexcept { return names().front(); }
  /// true when `owner` is one of names().
  bool answers_to(std::string_view owner) const noexcept {
    for (const auto n : names())
      if (n == owner) return true;
    return false;
  }
  void set_param(std::string_view name, const param_value& v) { p_->set_param(name, v); }
  /// The pipeline's fitting: learns from `frame`, transforms (or cuts) it as training
  /// does and updates the layout when it changes the columns.
  FittedStep<T> fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view target) const {
    return p_->fit_step(frame, layout, target);
  }
  /// The same fit from statistics (prep/stats.hpp, stats_source) instead of rows;
  /// nothing when the step's type has no `fit_source` or the source lacks a statistic.
  std::optional<FittedStep<T>> fit_source(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view target) const {
    return p_->fit_source(src, layout, target);
  }
  /// true when the step's type has a `fit_source` (it may still decline a source).
  bool fits_from_statistics() const noexcept { return p_->fits_from_statistics(); }

  template <class S>
  const S* get_if() const noexcept {
    const auto* m = p_.template as<model<S>>(&detail::type_key<S>);
    return m ? &m->value : nullptr;
  }
  template <class S>
  S* get_if() noexcept {
    auto* m = p_.template as<model<S>>(&detail::type_key<S>);
    return m ? &m->value : nullptr;
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual std::unique_ptr<concept_t> clone() const = 0;
    virtual const void* key() const noexcept = 0;
    virtual std::span<const std::string_view> names() const noexcept = 0;
    virtual void set_param(std::string_view name, const param_value& v) = 0;
    virtual FittedStep<T> fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view target) const = 0;
    virtual std::optional<FittedStep<T>> fit_source(detail::stats_source<T>& src, detail::design_layout& layout,
                                                    std::string_view target) const = 0;
    virtual bool fits_from_statistics() const noexcept = 0;
  };
  template <class S>
  struct model final : concept_t {
    S value;
    explicit model(S s) : value(std::move(s)) {}
    std::unique_ptr<concept_t> clone() const override { return std::make_unique<model>(value); }
    const void* key() const noexcept override { return &detail::type_key<S>; }
    std::span<const std::string_view> names() const noexcept override { return S::names; }
    void set_param(std::string_view name, const param_value& v) override { value.set_param(name, v); }
    FittedStep<T> fit_step(DataFrame<T>& frame, detail::design_layout& layout, std::string_view target) const override {
      return value.fit_step(frame, layout, target);
    }
    std::optional<FittedStep<T>> fit_source(detail::stats_source<T>& src, detail::design_layout& layout,
                                            std::string_view target) const override {
      if constexpr (requires { value.fit_source(src, layout, target); }) {
        if (auto f = value.fit_source(src, layout, target)) return FittedStep<T>(std::move(*f));
      } else {
        (void)src, (void)layout, (void)target;
      }
      return std::nullopt;
    }
    bool fits_from_statistics() const noexcept override {
      return requires(detail::stats_source<T>& src, detail::design_layout& layout, std::string_view target) {
        value.fit_source(src, layout, target);
      };
    }
  };
  detail::clone_ptr<concept_t> p_;
};

/// std::get_if's shape: the held step as an X, or nullptr (also for a null pointer).
template <class X, scalar T>
const X* get_if(const Step<T>* s) noexcept {
  return s ? s->template get_if<X>() : nullptr;
}
template <class X, scalar T>
X* get_if(Step<T>* s) noexcept {
  return s ? s->template get_if<X>() : nullptr;
}
template <class X, scalar T>
const X* get_if(const FittedStep<T>* s) noexcept {
  return s ? s->template get_if<X>() : nullptr;
}
/// std::get's shape: the held step as an X; argument_error naming both types otherwise.
template <class X, scalar T>
const X& get(const Step<T>& s) {
  if (const X* x = s.template get_if<X>()) return *x;
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("this step is '{}', not the type asked for", s.has_value() ? s.name() : "empty")));
}
template <class X, scalar T>
const X& get(const FittedStep<T>& s) {
  if (const X* x = s.template get_if<X>()) return *x;
  MLOPS_THROW(argument_error(errc::invalid_argument, fmt::format("this step is '{}', not the type asked for", s.has_value() ? s.name() : "empty")));
}

/// Human-readable name of a (fitted) step.
template <scalar T>
std::string_view step_name(const FittedStep<T>& s) noexcept {
  return s.name();
}
template <scalar T>
std::string_view step_name(const Step<T>& s) noexcept {
  return s.name();
}

namespace detail {
/// true when some step type of the list (prep/steps.hpp) is called `owner` (any of its names).
MLOPS_FUNC bool is_step_name(std::string_view owner);
/// "impute, iqr_filter, standardize, ..." (each listed type's first name).
MLOPS_FUNC std::string step_names_list();
/// true when some listed fitted step type writes `name` as its name (the card's vocabulary).
MLOPS_FUNC bool is_fitted_step_name(std::string_view name);
}  // namespace detail

MLOPS_NAMESPACE_END
