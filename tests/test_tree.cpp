// Decision trees: scikit-learn's trees node for node (diabetes, breast cancer), the
// pipeline's row path, save/load, the card, grid search, bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "golden/trees/tree_golden.hpp"
#include "mlops/csv.hpp"
#include "mlops/io/card.hpp"
#include "mlops/learn/tree/trainers.hpp"
#include "mlops/pipeline.hpp"
#include "mlops/select/model_selection.hpp"
#include "support.hpp"

using namespace mlops;

namespace {
template <class T>
DataFrame<T> golden_table(const char* name) {
  return read_csv<T>(std::filesystem::path(MLOPS_TEST_GOLDEN_DIR) / "trees" / name);
}
template <class T>
std::vector<std::string> features_of(const DataFrame<T>& f) {
  auto names = f.names();
  names.erase(std::find(names.begin(), names.end(), "target"));
  return names;
}

/// Our tree equals scikit-learn's: same structure, features, thresholds, node sizes and
/// leaf values, walked side by side from the root. With float input the thresholds are
/// bit-equal (scikit-learn splits float32 values); with double they are the midpoints of
/// the unrounded values, so within float32's rounding. Where features tie for the best
/// split (the golden's tie_mask, computed by scikit-learn's scan), scikit-learn breaks
/// the tie by its random feature order and we by column order: our feature must be one of
/// the tied ones; when its children hold the same training rows as scikit-learn's the
/// walk goes on below, else that subtree is not compared. Every compared node holds the
/// same training rows (golden row_sum, row_sq). Returns the number of nodes compared.
template <class Model, class G>
struct tree_walk {
  const Model& m;
  double threshold_tol;
  std::vector<long long> row_sum, row_sq;  // per node of ours: sum of (row + 1), of (row + 1)^2
  std::size_t compared = 0, ties_taken = 0;
  template <class T>
  void route(const DataFrame<T>& frame, const std::vector<std::string>& features) {
    const auto& t = m.nodes();
    row_sum.assign(t.nodes.size(), 0), row_sq.assign(t.nodes.size(), 0);
    std::vector<double> x(features.size());
    for (std::size_t r = 0; r < frame.rows(); ++r) {
      for (std::size_t j = 0; j < features.size(); ++j) x[j] = frame.column(features[j])[r];
      const auto k = static_cast<long long>(r + 1);
      std::size_t i = 0;
      for (;;) {
        row_sum[i] += k, row_sq[i] += k * k;
        const auto& n = t.nodes[i];
        if (n.feature < 0) break;
        i = x[static_cast<std::size_t>(n.feature)] <= n.threshold ? i + 1 : n.next;
      }
    }
  }
  bool same_rows(std::size_t i, std::size_t g) const { return row_sum[i] == G::row_sum[g] && row_sq[i] == G::row_sq[g]; }
  void walk(std::size_t i, std::size_t g) {
    const auto& t = m.nodes();
    CAPTURE(i);
    CAPTURE(g);
    REQUIRE(i < t.nodes.size());
    const auto& n = t.nodes[i];
    REQUIRE(t.samples[i] == static_cast<std::uint64_t>(G::samples[g]));
    REQUIRE(same_rows(i, g));
    ++compared;
    if (G::feature[g] < 0) {
      REQUIRE(n.feature < 0);
      std::size_t leaf = 0;  // scikit-learn's leaf number: leaves before g
      for (std::size_t k = 0; k < g; ++k) leaf += G::feature[k] < 0;
      for (std::size_t k = 0; k < t.width; ++k)
        CHECK(t.values[n.next * t.width + k] == doctest::Approx(G::leaf_values[leaf * t.width + k]).epsilon(1e-12));
      return;
    }
    REQUIRE(n.feature >= 0);
    const std::size_t gr = static_cast<std::size_t>(G::right[g]);
    if (n.feature != G::feature[g]) {
      REQUIRE(((G::tie_mask[g] >> n.feature) & 1) == 1);  // a tie, else a wrong split
      ++ties_taken;
      if (!same_rows(i + 1, g + 1)) return;  // another partition: not compared below
    } else if (threshold_tol == 0) {
      CHECK(n.threshold == G::threshold[g]);
    } else {
      CHECK(n.threshold == doctest::Approx(G::threshold[g]).epsilon(threshold_tol));
    }
    walk(i + 1, g + 1);
    walk(n.next, gr);
  }
};

template <class T, class Trainer, class Golden>
std::size_t check_golden(const char* table, Trainer trainer, const Golden&, double threshold_tol) {
  using G = Golden;
  const auto frame = golden_table<T>(table);
  const auto features = features_of(frame);
  const auto m = trainer.fit(frame, features, "target");
  tree_walk<decltype(m), G> w{m, threshold_tol, {}, {}};
  w.route(frame, features);
  w.walk(0, 0);
  MESSAGE(std::string(table) << ": " << w.compared << " of " << G::nodes << " nodes compared, " << w.ties_taken << " ties");
  if (w.compared != static_cast<std::size_t>(G::nodes)) return w.compared;
  // The whole tree was compared: depth, leaves, importances and predictions are scikit-learn's.
  CHECK(m.depth() == static_cast<std::size_t>(G::depth));
  CHECK(m.n_leaves() == static_cast<std::size_t>(G::leaves));
  const auto& imp = m.feature_importances();
  REQUIRE(imp.size() == std::size(G::importances));
  if (w.ties_taken == 0)
    for (std::size_t j = 0; j < imp.size(); ++j) CHECK(imp[j] == doctest::Approx(G::importances[j]).epsilon(1e-9).scale(1e-12));
  std::vector<T> row(features.size());
  for (std::size_t r = 0; r < frame.rows(); ++r) {
    for (std::size_t j = 0; j < features.size(); ++j) row[j] = frame.column(features[j])[r];
    CHECK(static_cast<double>(m.predict_row(row)) == doctest::Approx(G::train_pred[r]).epsilon(1e-6));
  }
  return w.compared;
}
}  // namespace

TEST_CASE("trees: equal to scikit-learn's on diabetes (regression) node for node") {
  namespace g = tree_golden;
  DecisionTreeRegressor<float> d4;
  d4.max_depth = 4;
  // Node 3 of this one ties s1 with s2 on different rows: the two leaves below differ.
  CHECK(check_golden<float>("diabetes.csv", d4, g::diabetes_d4{}, 0) == g::diabetes_d4::nodes - 2);
  DecisionTreeRegressor<double> d4d;
  d4d.max_depth = 4;
  CHECK(check_golden<double>("diabetes.csv", d4d, g::diabetes_d4{}, 1e-6) == g::diabetes_d4::nodes - 2);
  DecisionTreeRegressor<float> leaf5;
  leaf5.max_depth = 8;
  leaf5.min_samples_leaf = 5;
  // No tie in this one: the whole tree, its importances and predictions are scikit-learn's.
  CHECK(check_golden<float>("diabetes.csv", leaf5, g::diabetes_leaf5{}, 0) == g::diabetes_leaf5::nodes);
}

TEST_CASE("trees: equal to scikit-learn's on breast cancer (gini, entropy, min_samples_split)") {
  namespace g = tree_golden;
  DecisionTreeClassifier<float> gini;
  gini.max_depth = 5;
  CHECK(check_golden<float>("breast_cancer.csv", gini, g::cancer_gini{}, 0) >= g::cancer_gini::nodes * 3 / 4);
  DecisionTreeClassifier<float> entropy;
  entropy.criterion = tree_criterion::entropy;
  entropy.min_samples_leaf = 3;
  CHECK(check_golden<float>("breast_cancer.csv", entropy, g::cancer_entropy{}, 0) >= g::cancer_entropy::nodes * 3 / 4);
  DecisionTreeClassifier<double> split10;
  split10.min_samples_split = 10;
  CHECK(check_golden<double>("breast_cancer.csv", split10, g::cancer_split10{}, 1e-6) >= g::cancer_split10::nodes * 3 / 4);
  DecisionTreeClassifier<float> leaf10;
  leaf10.min_samples_leaf = 10;
  CHECK(check_golden<float>("breast_cancer.csv", leaf10, g::cancer_leaf10{}, 0) >= g::cancer_leaf10::nodes * 3 / 4);
  leaf10.criterion = tree_criterion::entropy;
  CHECK(check_golden<float>("breast_cancer.csv", leaf10, g::cancer_entropy_leaf10{}, 0) >= g::cancer_entropy_leaf10::nodes * 3 / 4);
}

TEST_CASE("trees: through the pipeline - row path without allocation, save/load bit-exact, card, proba") {
  const auto frame = golden_table<double>("breast_cancer.csv");
  const auto features = features_of(frame);
  DecisionTreeClassifier<double> tc;
  tc.max_depth = 6;
  const auto fp = pipeline<double>().standardize().fit(tc, frame, "target");
  REQUIRE(fp.is_classifier());
  REQUIRE(fp.model_if<ClassificationTree<double>>() != nullptr);
  CHECK(fp.model_if<LinearClassifier<double>>() == nullptr);
  CHECK(fp.n_classes() == 2);
  CHECK(fp.n_outputs() == 2);
  CHECK(fp.has_proba());
  CHECK(test::error_id_of([&] { (void)fp.classifier(); }) == "argument.invalid");
  // Standardizing does not change a tree's partition of the training rows: the same
  // predictions as the tree fitted on the raw columns.
  const auto direct = tc.fit(frame, features, "target");
  const auto pred = fp.predict(frame);
  std::vector<double> row(features.size());
  std::array<double, 2> proba{};
  for (std::size_t r = 0; r < frame.rows(); ++r) {
    for (std::size_t j = 0; j < features.size(); ++j) row[j] = frame.column(features[j])[r];
    CHECK(pred[r] == direct.predict_row(row));
    const auto before = test::allocations();
    const double y = fp.predict_row(row);
    REQUIRE(fp.predict_proba_row(row, proba));
    CHECK(test::allocations() == before);
    CHECK(y == pred[r]);
    CHECK(proba[0] + proba[1] == doctest::Approx(1.0));
    CHECK(y == (proba[1] > 0.5 ? 1.0 : 0.0));
  }
  const auto P = fp.predict_proba(frame);
  CHECK(P.rows() == static_cast<Eigen::Index>(frame.rows()));
  const auto m = fp.evaluate_classifier(frame);
  CHECK(m.accuracy > 0.97);
  REQUIRE(m.roc_auc.has_value());
  // A missing value on a row's path: NaN from the row path, a data_error from the batch one.
  row.assign(features.size(), std::numeric_limits<double>::quiet_NaN());
  double out = 0;
  CHECK(fp.try_predict(row, out) == predict_status::non_finite);
  // (A NaN in a feature the row's path does not read does not matter: the root's does.)
  auto holes = frame;
  holes.column(features[static_cast<std::size_t>(fp.model_if<ClassificationTree<double>>()->nodes().nodes[0].feature)])[3] =
      std::numeric_limits<double>::quiet_NaN();
  CHECK(test::error_id_of([&] { (void)fp.predict(holes); }) == "data.non_finite");

  // Save and load: the same bits.
  const auto back = FittedPipeline<double>::from_bytes(fp.to_bytes());
  CHECK(back.predict(frame) == pred);
  CHECK(back.predict_proba(frame) == P);
  CHECK(back.to_bytes() == fp.to_bytes());

  // The card describes the tree: depth, leaves, importances by column.
  const auto card = io::model_card(fp);
  const auto& mj = card["model"];
  CHECK(mj["kind"] == "tree_classifier");
  const auto* t = fp.model_if<ClassificationTree<double>>();
  CHECK(mj["depth"] == t->depth());
  CHECK(mj["leaves"] == t->n_leaves());
  CHECK(mj["criterion"] == "gini");
  CHECK(mj["feature_importances"].size() == features.size());
  double total = 0;
  for (const auto& [k, v] : mj["feature_importances"].items()) total += v.get<double>();
  CHECK(total == doctest::Approx(1.0));
  const auto parsed = io::parse_model_card(card.dump());
  CHECK(parsed.model_kind == "tree_classifier");
  CHECK(parsed.classes == std::vector<double>{0, 1});
  CHECK(parsed.coefficients.empty());

  // The threshold moves the binary decision.
  auto strict = fp;
  strict.set_threshold(0.99);
  const auto sp = strict.predict(frame);
  for (std::size_t r = 0; r < frame.rows(); ++r) CHECK(sp[r] == (P(static_cast<Eigen::Index>(r), 1) > 0.99 ? 1.0 : 0.0));
}

TEST_CASE("trees: regression in the pipeline, grid search over depth, set_param") {
  const auto frame = golden_table<double>("diabetes.csv");
  auto p = pipeline<double>().estimator(DecisionTreeRegressor<double>{});
  set_param(p, "tree.max_depth", 3.0);
  set_param(p, "model.min_samples_leaf", 10.0);
  const auto* tr = get_if<DecisionTreeRegressor<double>>(p.estimator());
  REQUIRE(tr != nullptr);
  CHECK(tr->max_depth == 3);
  CHECK(tr->min_samples_leaf == 10);
  CHECK(test::error_id_of([&] { set_param(p, "tree.depth", 3.0); }) == "argument.invalid");
  CHECK(test::error_text_of([&] { set_param(p, "tree.depth", 3.0); }).find("max_depth") != std::string::npos);
  const auto fp = p.fit(frame, "target");
  const auto* m = fp.model_if<RegressionTree<double>>();
  REQUIRE(m != nullptr);
  CHECK(m->depth() == 3);
  CHECK(m->n_leaves() <= 8);
  CHECK(test::error_id_of([&] { (void)fp.model(); }) == "argument.invalid");
  const auto card = io::model_card(fp);
  CHECK(card["model"]["kind"] == "tree");
  CHECK(io::parse_model_card(card.dump()).model_kind == "tree");
  const auto back = FittedPipeline<double>::from_bytes(fp.to_bytes());
  CHECK(back.predict(frame) == fp.predict(frame));
  CHECK(fp.evaluate(frame).r2 > 0.4);

  param_grid grid;
  grid.add("tree.max_depth", {1.0, 3.0, 12.0});
  const auto gs = grid_search(p, grid, frame, "target", KFold{5}, "r2");
  REQUIRE(gs.candidates.size() == 3);
  // A stump underfits, an unlimited-depth-ish tree overfits: depth 3 wins on held-out r2.
  CHECK(gs.best == 1);
  REQUIRE(gs.refitted.has_value());
  CHECK(gs.refitted->model_if<RegressionTree<double>>()->depth() == 3);
}

TEST_CASE("trees: bad input is a typed error; max_features draws by seed") {
  const auto frame = golden_table<double>("diabetes.csv");
  const auto features = features_of(frame);
  auto holes = frame;
  holes.column("bmi")[7] = std::numeric_limits<double>::quiet_NaN();
  const auto text = test::error_text_of([&] { (void)DecisionTreeRegressor<double>{}.fit(holes, features, "target"); });
  CHECK(text.find("bmi") != std::string::npos);
  CHECK(text.find("row 7") != std::string::npos);
  DecisionTreeRegressor<double> bad;
  bad.min_samples_leaf = 0;
  CHECK(test::error_id_of([&] { (void)bad.fit(frame, features, "target"); }) == "argument.invalid");
  CHECK(test::error_id_of([&] { (void)DecisionTreeRegressor<double>{}.fit(frame.head(0), features, "target"); }) == "data.empty");
  DecisionTreeRegressor<double> r;
  CHECK(test::error_id_of([&] { r.set_param("max_features", 1.5); }) == "argument.invalid");
  r.set_param("max_features", "sqrt");
  r.max_depth = 6;
  r.seed = 1;
  const auto a = r.fit(frame, features, "target");
  const auto b = r.fit(frame, features, "target");
  CHECK(a.nodes().values == b.nodes().values);  // same seed, same tree
  r.seed = 2;
  const auto c = r.fit(frame, features, "target");
  bool differs = c.nodes().nodes.size() != a.nodes().nodes.size();
  for (std::size_t i = 0; !differs && i < a.nodes().nodes.size(); ++i) differs = a.nodes().nodes[i].feature != c.nodes().nodes[i].feature;
  CHECK(differs);  // another seed draws other features
  // A corrupt node table is refused: a right child pointing back to the root (a cycle),
  // a feature out of range.
  DecisionTreeRegressor<double> d2;
  d2.max_depth = 2;
  const auto good = d2.fit(frame, features, "target");
  auto reload = [](const detail::tree_nodes& t) {
    detail::byte_writer w;
    t.save(w);
    detail::byte_reader r(w.buffer(), "tree");
    return detail::tree_nodes::load(r);
  };
  CHECK(reload(good.nodes()).nodes.size() == good.nodes().nodes.size());
  auto cyclic = good.nodes();
  cyclic.nodes[1].next = 0;
  CHECK(test::error_id_of([&] { (void)reload(cyclic); }) == "format.corrupt");
  auto wide = good.nodes();
  wide.nodes[0].feature = 99;
  CHECK(test::error_id_of([&] { (void)reload(wide); }) == "format.corrupt");
}

TEST_CASE("trainers by name: make_trainer, the list's tasks, set_param prefixes") {
  CHECK(find_trainer<double>("tree")->task == task_kind::regression);
  CHECK(find_trainer<double>("tree_classifier")->task == task_kind::classification);
  CHECK(find_trainer<double>("nope") == nullptr);
  for (const auto& e : trainer_list<double>()) {
    CAPTURE(std::string(e.name));
    const auto est = e.make();
    CHECK(est.has_value());
    CHECK(est.is_classifier() == (e.task == task_kind::classification));
    CHECK(!e.description.empty());
  }
  auto ridge = make_trainer<double>("ridge");
  REQUIRE(get_if<LinearRegression<double>>(&ridge) != nullptr);
  CHECK(get_if<LinearRegression<double>>(&ridge)->l2 == 1.0);
  CHECK(test::error_text_of([] { (void)make_trainer<double>("forest"); }).find("tree_classifier") != std::string::npos);
  auto p = pipeline<double>().estimator(make_trainer<double>("tree_classifier"));
  set_param(p, "tree_classifier.criterion", std::string("entropy"));
  CHECK(get_if<DecisionTreeClassifier<double>>(p.estimator())->criterion == tree_criterion::entropy);
}

TEST_CASE("trainers' params: every listed trainer's parameters replay through set_param; the fit keeps them") {
  for (const auto& entry : trainer_list<double>()) {
    CAPTURE(std::string(entry.name));
    auto e = entry.make();
    const auto p = e.params();
    REQUIRE(!p.empty());
    // Change one numeric parameter where there is one, replay everything on a fresh trainer.
    auto changed = p;
    for (auto& [k, v] : changed)
      if (k == "max_depth" || k == "alpha" || k == "C" || k == "epochs" || k == "forgetting" || k == "threshold") {
        v = k == "forgetting" ? 0.5 : k == "threshold" ? 0.25 : 7.0;
        break;
      }
    for (const auto& [k, v] : changed) e.set_param(k, v);
    CHECK(e.params() == changed);
    auto fresh = entry.make();
    for (const auto& [k, v] : e.params()) fresh.set_param(k, v);
    CHECK(fresh.params() == e.params());
  }
  const auto frame = golden_table<double>("diabetes.csv");
  DecisionTreeRegressor<double> t;
  t.max_depth = 3;
  t.set_param("max_features", "sqrt");
  const auto fp = pipeline<double>().fit(t, frame, "target");
  CHECK(fp.trainer_name() == "DecisionTreeRegressor");
  CHECK(fp.trainer_params() == t.params());
  const auto back = FittedPipeline<double>::from_bytes(fp.to_bytes());
  CHECK(back.trainer_name() == "DecisionTreeRegressor");
  CHECK(back.trainer_params() == t.params());
  const auto card = io::model_card(back);
  CHECK(card["trainer"]["name"] == "DecisionTreeRegressor");
  CHECK(card["trainer"]["params"]["max_depth"] == 3);
  CHECK(card["trainer"]["params"]["max_features"] == "sqrt");
}
