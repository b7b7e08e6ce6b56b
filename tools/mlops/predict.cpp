// tools/mlops/predict.cpp - `mlops predict`: predict every row of a CSV file.
#include <iostream>

#include "cli.hpp"

namespace mlops_cli {
namespace {

/// Writes the input's columns (or only the --id columns) beside the predictions.
int cmd_predict(const std::string& model, const std::string& data, const std::string& out, const data_args& d,
                const std::vector<std::string>& ids) {
  const auto p = mlops::FittedPipeline<double>::load(model);
  auto frame = read_table(data, d, model_columns(p));
  const auto pred = p.predict(frame);
  // Levels training never saw are predicted as no level: say so, once per column.
  for (const auto& u : p.unseen_levels(frame)) {
    std::vector<std::string> shown;
    for (std::size_t k = 0; k < u.levels.size() && k < 5; ++k) shown.push_back(fmt::format("'{}' ({})", u.levels[k].first, u.levels[k].second));
    const std::string more = u.levels.size() > 5 ? fmt::format(" and {} more", u.levels.size() - 5) : "";
    fmt::print(stderr, "mlops predict: {} row(s) hold levels of '{}' not seen in training, predicted as no level: {}{}\n", u.rows, u.column,
               fmt::join(shown, ", "), more);
  }
  const bool proba = p.has_proba();
  const Eigen::MatrixXd P = proba ? p.predict_proba(frame) : Eigen::MatrixXd();
  if (!ids.empty()) {
    for (const auto& c : ids) (void)frame.index_of(c);
    frame = frame.select(ids);
  }
  if (frame.contains("prediction")) frame.drop_inplace({"prediction"});
  if (p.class_labels().empty()) {
    frame.add_column("prediction", std::span<const double>(pred));
  } else {  // the classes' own labels
    std::vector<std::int32_t> codes(pred.size());
    for (std::size_t r = 0; r < pred.size(); ++r) codes[r] = static_cast<std::int32_t>(pred[r]);
    frame.add_categorical("prediction", std::move(codes), p.class_labels());
  }
  if (proba) {  // one probability column per class, named after its label
    for (std::size_t k = 0; k < p.n_classes(); ++k) {
      const double cls = p.classes()[k];
      const auto name = p.class_labels().empty() ? fmt::format("proba_{}", cls) : fmt::format("proba_{}", p.label_of(cls));
      if (frame.contains(name)) frame.drop_inplace({name});
      std::vector<double> col(P.col(static_cast<Eigen::Index>(k)).data(), P.col(static_cast<Eigen::Index>(k)).data() + P.rows());
      frame.add_column(name, std::span<const double>(col));
    }
  }
  if (out.empty() || out == "-") mlops::write_csv(frame, std::cout);
  else mlops::write_csv(frame, std::filesystem::path(out));
  return 0;
}

struct predict_args {
  std::string model, data, out;
  data_args data_opts;
  std::vector<std::string> ids;
};

}  // namespace

std::function<int()> setup_predict(CLI::App& cmd) {
  auto a = std::make_shared<predict_args>();
  cmd.add_option("model", a->model, "model file")->required();
  cmd.add_option("data", a->data, "CSV with the model's feature columns (- for standard input)")->required();
  cmd.add_option("--out", a->out, "output CSV (default, or -: standard output)");
  cmd.add_option("--id", a->ids, "write only this column (repeatable) beside the predictions, instead of every input column");
  add_data_flags(&cmd, a->data_opts);
  return [a] { return cmd_predict(a->model, a->data, a->out, a->data_opts, a->ids); };
}

}  // namespace mlops_cli
