// mlops/pipeline/format.hpp - FittedPipeline's file format: to_bytes and from_bytes
// (docs/file-format.md). Loading needs every step type (prep/steps.hpp: each step is
// found by its format tag). Included by pipeline.hpp in the header-only mode; in the
// compiled mode only the library includes it (MLOPS_TEMPLATE_BODIES, config.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <fmt/format.h>

#include "mlops/detail/binary.hpp"
#include "mlops/io/container.hpp"
#include "mlops/pipeline/fitted.hpp"
#include "mlops/prep/steps.hpp"

MLOPS_NAMESPACE_BEGIN

template <scalar T>
std::string FittedPipeline<T>::to_bytes() const {
  io::container_writer c(sizeof(T));
  {
    detail::byte_writer w;
    w.put_string(target_);
    w.put(static_cast<std::uint64_t>(features_.size()));
    for (const auto& f : features_) w.put_string(f);
    w.put_string(created_at_);
    c.add(tag_schema, std::move(w.buffer()));
  }
  {
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(steps_.size()));
    for (const auto& s : steps_) {
      w.put(s.tag());
      s.save(w);
    }
    c.add(tag_steps, std::move(w.buffer()));
  }
  {
    detail::byte_writer w;
    std::visit(
        [&](const auto& m) {
          w.put(static_cast<std::uint8_t>(std::decay_t<decltype(m)>::tag));
          m.save(w);
        },
        model_);
    c.add(tag_model, std::move(w.buffer()));
  }
  {
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(metrics_.size()));
    for (const auto& [k, v] : metrics_) {
      w.put_string(k);
      w.put(v);
    }
    c.add(tag_metrics, std::move(w.buffer()), false);
  }
  {
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(report_.rows_in));
    w.put(static_cast<std::uint64_t>(report_.rows_missing_target));
    w.put(static_cast<std::uint64_t>(report_.rows_used));
    w.put(static_cast<std::uint64_t>(report_.steps.size()));
    for (const auto& s : report_.steps) {
      w.put_string(s.step);
      w.put(static_cast<std::uint64_t>(s.rows_in));
      w.put(static_cast<std::uint64_t>(s.rows_out));
    }
    c.add(tag_report, std::move(w.buffer()), false);
  }
  const bool typed = design_ != features_ || !labels_.empty() ||
                     std::any_of(input_kinds_.begin(), input_kinds_.end(), [](column_kind k) { return k != column_kind::numeric; });
  if (typed) {  // format 1.2: input kinds, levels and the model's columns (required: an older reader refuses the file)
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(features_.size()));
    for (std::size_t j = 0; j < features_.size(); ++j) {
      w.put(static_cast<std::uint8_t>(input_kinds_[j]));
      if (input_kinds_[j] == column_kind::categorical) detail::save_strings(w, input_levels_[j]);
      if (input_kinds_[j] == column_kind::datetime) w.put(input_has_time_[j]);
    }
    detail::save_strings(w, design_);
    detail::save_strings(w, labels_);
    c.add(tag_inputs, std::move(w.buffer()));
  }
  if (!trainer_.empty()) {  // optional (format 1.2): what fitted the model
    detail::byte_writer w;
    w.put_string(trainer_);
    w.put(static_cast<std::uint64_t>(trainer_params_.size()));
    for (const auto& [k, v] : trainer_params_) {
      w.put_string(k);
      if (const auto* d = std::get_if<double>(&v)) {
        w.put(std::uint8_t{0});
        w.put(*d);
      } else {
        w.put(std::uint8_t{1});
        w.put_string(std::get<std::string>(v));
      }
    }
    c.add(tag_trainer, std::move(w.buffer()), false);
  }
  if (!notes_.empty()) {  // optional (format 1.2): a reader that predates it skips it
    detail::byte_writer w;
    w.put(static_cast<std::uint64_t>(notes_.size()));
    for (const auto& [k, v] : notes_) {
      w.put_string(k);
      w.put_string(v);
    }
    c.add(tag_notes, std::move(w.buffer()), false);
  }
  if (profile_) {
    detail::byte_writer w;
    profile_->save(w);
    c.add(tag_profile, std::move(w.buffer()), false);  // optional: a 1.0 reader skips it
  }
  return c.bytes();
}

template <scalar T>
FittedPipeline<T> FittedPipeline<T>::from_bytes(std::string_view bytes, std::string_view source) {
  static constexpr std::uint32_t known[] = {tag_schema, tag_steps, tag_model, tag_metrics, tag_report, tag_profile, tag_inputs, tag_trainer, tag_notes};
  const io::container c = io::parse_container(bytes, sizeof(T), source, known);
  FittedPipeline fp;
  auto done = [&](detail::byte_reader& r) {
    if (!r.at_end()) r.corrupt(fmt::format("{} unexpected bytes at the end of the section", r.remaining()));
  };
  {
    detail::byte_reader r(c.get(tag_schema, source), "schema section");
    fp.target_ = r.get_string();
    const std::size_t n = r.get_count(8);
    for (std::size_t i = 0; i < n; ++i) fp.features_.push_back(r.get_string());
    fp.created_at_ = r.get_string();
    done(r);
  }
  fp.input_kinds_.assign(fp.features_.size(), column_kind::numeric);
  fp.input_levels_.assign(fp.features_.size(), {});
  fp.input_has_time_.assign(fp.features_.size(), 0);
  fp.design_ = fp.features_;
  if (c.has(tag_inputs)) {
    detail::byte_reader r(c.get(tag_inputs, source), "inputs section");
    if (r.get_count(1) != fp.features_.size()) r.corrupt("the inputs section does not match the schema's feature count");
    for (std::size_t j = 0; j < fp.features_.size(); ++j) {
      const auto k = r.get<std::uint8_t>();
      if (k > 2) r.corrupt("unknown column kind " + std::to_string(k));
      fp.input_kinds_[j] = static_cast<column_kind>(k);
      if (fp.input_kinds_[j] == column_kind::categorical) {
        fp.input_levels_[j] = detail::load_strings(r);
        std::vector<std::string> sorted = fp.input_levels_[j];
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) r.corrupt("a categorical input repeats a level");
      }
      if (fp.input_kinds_[j] == column_kind::datetime) {
        const auto t = r.get<std::uint8_t>();
        if (t > 1) r.corrupt("a datetime input's time flag must be 0 or 1");
        fp.input_has_time_[j] = t;
      }
    }
    fp.design_ = detail::load_strings(r);
    fp.labels_ = detail::load_strings(r);
    done(r);
  }
  {
    detail::byte_reader r(c.get(tag_steps, source), "steps section");
    const std::size_t n = r.get_count(1);
    for (std::size_t i = 0; i < n; ++i) {
      const auto kind = r.get<std::uint8_t>();
      auto step = detail::load_step<T>(kind, r);
      if (!step) r.corrupt("unknown step kind " + std::to_string(kind));
      fp.steps_.push_back(std::move(*step));
    }
    done(r);
  }
  {
    detail::byte_reader r(c.get(tag_model, source), "model section");
    const auto kind = r.get<std::uint8_t>();
    const bool known_kind = detail::any_of_types(model_types<T>{}, [&]<class M>(M*) {
      if (M::tag != kind) return false;
      fp.model_ = M::load(r);
      return true;
    });
    if (!known_kind) r.corrupt("unknown model kind " + std::to_string(kind));
    done(r);
  }
  if (c.has(tag_metrics)) {
    detail::byte_reader r(c.get(tag_metrics, source), "metrics section");
    const std::size_t n = r.get_count(16);
    for (std::size_t i = 0; i < n; ++i) {
      auto k = r.get_string();
      fp.metrics_[k] = r.get<double>();
    }
    done(r);
  }
  if (c.has(tag_report)) {
    detail::byte_reader r(c.get(tag_report, source), "report section");
    fp.report_.rows_in = static_cast<std::size_t>(r.get<std::uint64_t>());
    fp.report_.rows_missing_target = static_cast<std::size_t>(r.get<std::uint64_t>());
    fp.report_.rows_used = static_cast<std::size_t>(r.get<std::uint64_t>());
    const std::size_t n = r.get_count(24);
    for (std::size_t i = 0; i < n; ++i) {
      FitReport::step_rows s;
      s.step = r.get_string();
      s.rows_in = static_cast<std::size_t>(r.get<std::uint64_t>());
      s.rows_out = static_cast<std::size_t>(r.get<std::uint64_t>());
      fp.report_.steps.push_back(std::move(s));
    }
    done(r);
  }
  if (c.has(tag_trainer)) {
    detail::byte_reader r(c.get(tag_trainer, source), "trainer section");
    fp.trainer_ = r.get_string();
    const std::size_t n = r.get_count(10);
    for (std::size_t i = 0; i < n; ++i) {
      auto k = r.get_string();
      const auto kind = r.get<std::uint8_t>();
      if (kind == 0) fp.trainer_params_.emplace_back(std::move(k), r.get<double>());
      else if (kind == 1) fp.trainer_params_.emplace_back(std::move(k), r.get_string());
      else r.corrupt("unknown parameter kind " + std::to_string(kind));
    }
    done(r);
  }
  if (c.has(tag_notes)) {
    detail::byte_reader r(c.get(tag_notes, source), "notes section");
    const std::size_t n = r.get_count(16);
    for (std::size_t i = 0; i < n; ++i) {
      auto k = r.get_string();
      fp.notes_[std::move(k)] = r.get_string();
    }
    done(r);
  }
  if (c.has(tag_profile)) {
    detail::byte_reader r(c.get(tag_profile, source), "drift profile section");
    fp.profile_ = DriftProfile::load(r);
    done(r);
    bool match = fp.profile_->features.size() == fp.features_.size();
    for (std::size_t j = 0; match && j < fp.features_.size(); ++j) match = fp.profile_->features[j].name == fp.features_[j];
    if (!match)
      MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: the drift profile's features do not match the schema", source)));
    // A categorical input profiled per level (its edges say so) gets its level names back.
    for (std::size_t j = 0; j < fp.features_.size() && j < fp.input_kinds_.size(); ++j)
      if (fp.input_kinds_[j] == column_kind::categorical && FeatureProfile::level_edges(fp.profile_->features[j].edges, fp.input_levels_[j].size()))
        fp.profile_->features[j].levels = fp.input_levels_[j];
      else if (fp.input_kinds_[j] == column_kind::datetime && fp.profile_->features[j].range_edges())
        fp.profile_->features[j].ranged = true;
  }
  // Every step column must be an input or a model column, and the model width must
  // match the schema.
  for (const auto& st : fp.steps_) {
    const auto& cols = st.columns();
    for (const auto& name : cols)
      if (std::find(fp.features_.begin(), fp.features_.end(), name) == fp.features_.end() &&
          std::find(fp.design_.begin(), fp.design_.end(), name) == fp.design_.end())
        MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: step '{}' names column '{}', which is not in the schema",
                                                                   source, st.name(), name)));
  }
  fp.compile();
  if (!fp.labels_.empty()) {
    if (!fp.is_classifier()) MLOPS_THROW(format_error(errc::format_corrupt, fmt::format("{}: class labels on a regressor", source)));
    auto labels = fp.labels_;
    fp.set_class_labels(std::move(labels));
  }
  return fp;
}

MLOPS_NAMESPACE_END
